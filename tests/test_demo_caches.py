"""Each demo world keeps its own cache folder: both demos and the benchmarks share one HOME."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from tailorgen.cache import build_once, user_cache_dir
from tailorgen.cli import cli
from tailorgen.cli.demo import default_models_dir
from tailorgen.errors import TailorgenError
from tailorgen.testing import demo as demo_module
from tailorgen.testing.shapes_demo import ensure_shapes_data


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new user's HOME: no cache variable set, nothing cached yet."""
    for name in ("TAILORGEN_CACHE", "XDG_CACHE_HOME", "TAILORGEN_DEMO_MODELS", "TAILORGEN_SHAPES_DATA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TAILORGEN_SHAPES_WEIGHTS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def copied_builders(demo_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tiny models' builders copy the session's models (the same files, without minutes of CPU)."""
    calls: list[str] = []

    def copier(key: str):  # type: ignore[no-untyped-def]
        def build(path: Path) -> Path:
            calls.append(key)
            shutil.copytree(demo_models[key], path)
            return path

        return build

    monkeypatch.setattr(demo_module, "_BUILDERS", {k: copier(k) for k in demo_module._BUILDERS})
    return calls


def test_shapes_demo_then_tiny_demo_then_the_benchmark_cache_in_one_home(
    fresh_home: Path, copied_builders: list[str], tmp_path: Path
) -> None:
    runner = CliRunner()
    for world in ("shapes", "tiny"):
        out = tmp_path / f"run-{world}"
        result = runner.invoke(cli, ["demo", "--world", world, "--out", str(out), "--stages", "prompts"])
        assert result.exit_code == 0, result.output
        assert (out / "prompts.jsonl").is_file()
    cache = fresh_home / ".cache" / "tailorgen" / "demo"
    assert sorted(p.name for p in cache.iterdir()) == ["shapes", "tiny"]
    built = len(copied_builders)
    # benchmarks/finetune_memory.py reads the tiny world's folder: found, not rebuilt, not refused
    paths = demo_module.ensure_demo_models(default_models_dir("tiny"))
    assert paths["sd"].parent == cache / "tiny"
    assert len(copied_builders) == built == 5


def test_a_cache_folder_never_takes_another_kinds_folder(tmp_path: Path, copied_builders: list[str]) -> None:
    data = ensure_shapes_data(tmp_path / "shared")
    with pytest.raises(TailorgenError, match="not a tailorgen demo-models directory"):
        demo_module.ensure_demo_models(data)
    assert (data / "labels.json").is_file()
    assert copied_builders == []
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(TailorgenError, match="not a tailorgen shapes-demo directory"):
        ensure_shapes_data(mine)  # the shapes data set once deleted any folder without its marker
    assert (mine / "notes.txt").read_text() == "keep me"


def test_build_once_replaces_only_an_older_build_of_its_own_kind(tmp_path: Path) -> None:
    def build(text: str):  # type: ignore[no-untyped-def]
        return lambda path: (path / "data.txt").write_text(text)

    folder = build_once(tmp_path / "c", "thing", 1, build("one"))
    assert build_once(folder, "thing", 1, build("ignored")) == folder
    assert (folder / "data.txt").read_text() == "one"
    build_once(folder, "thing", 2, build("two"))
    assert (folder / "data.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]  # no staging or stale leftovers


def test_the_cache_root_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAILORGEN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir("demo", "tiny") == tmp_path / "xdg" / "tailorgen" / "demo" / "tiny"
    monkeypatch.setenv("TAILORGEN_CACHE", str(tmp_path / "mine"))
    assert user_cache_dir("demo") == tmp_path / "mine" / "demo"


def test_data_only_builds_the_world_and_prints_its_variables(
    tmp_path: Path, copied_builders: list[str]
) -> None:
    result = CliRunner().invoke(cli, ["demo", "--world", "shapes", "--data-only", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    lines = dict(line.removeprefix("export ").split("=", 1) for line in result.output.splitlines())
    assert lines["TAILORGEN_SHAPES_DATA"] == str((tmp_path / "d").resolve())
    assert (tmp_path / "d" / "labels.json").is_file()
    assert Path(lines["TAILORGEN_SHAPES_WEIGHTS"], "clip").is_dir()

"""``tailorgen new-plugin``: the written distribution installs and passes its own conformance test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tailorgen.cli import main
from tailorgen.errors import TailorgenError
from tailorgen.registry.hookspecs import ROLE_HOOKS
from tailorgen.scaffold import write_plugin

_PLUGIN_ENV = ("TAILORGEN_STRICT_PLUGINS", "TAILORGEN_LOAD_PLUGINS", "TAILORGEN_DISABLE_PLUGINS")


def _env(demo_models: dict[str, Path], **extra: str) -> dict[str, str]:
    """The subprocess environment: the session's tiny models reused, plugin filters cleared."""
    env = {k: v for k, v in os.environ.items() if k not in _PLUGIN_ENV}
    env["TAILORGEN_DEMO_MODELS"] = str(demo_models["sd"].parent)
    env["TAILORGEN_STRICT_PLUGINS"] = "1"
    return env | extra


def _run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )


def test_new_plugin_installs_and_passes_its_own_conformance_test(
    demo_models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end, as a plugin author would: write, pip install -e, list, run its pytest, uninstall."""
    assert main(["new-plugin", "ci-writer", "--role", "prompt_writer", "--out", str(tmp_path)]) is None
    root = Path(capsys.readouterr().out.strip())
    assert root == tmp_path / "tailorgen-ci-writer"
    env = _env(demo_models)
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(root)]
    installed = _run(pip, tmp_path, env)
    assert installed.returncode == 0, installed.stderr
    try:
        listing = _run([sys.executable, "-m", "tailorgen", "plugins", "--json"], tmp_path, env)
        assert listing.returncode == 0, listing.stderr
        [entry] = [
            e for e in json.loads(listing.stdout)["roles"]["prompt_writer"] if e["name"] == "ci-writer"
        ]
        assert (entry["distribution"], entry["plugin"]) == ("tailorgen-ci-writer", "ci-writer")
        tested = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], root, env)
        assert tested.returncode == 0, tested.stdout + tested.stderr
        assert "1 passed" in tested.stdout
    finally:
        removed = _run(
            [sys.executable, "-m", "pip", "uninstall", "-q", "-y", "tailorgen-ci-writer"], tmp_path, env
        )
    assert removed.returncode == 0, removed.stderr


def test_every_role_passes_its_generated_conformance_test(
    demo_models: dict[str, Path], tmp_path: Path
) -> None:
    """The other roles, uninstalled (their folders on PYTHONPATH), in one pytest run."""
    roles = [role for role in ROLE_HOOKS if role != "prompt_writer"]
    roots = [write_plugin(f"new-{role.replace('_', '-')}", role, tmp_path) for role in roles]
    env = _env(demo_models, PYTHONPATH=os.pathsep.join(map(str, roots)))
    args = [
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "tailorgen.testing.pytest_plugin",
        "--import-mode=importlib",
    ]
    tested = _run(
        [
            sys.executable,
            "-m",
            "pytest",
            *args,
            "--rootdir",
            str(tmp_path),
            *(str(r / "tests") for r in roots),
        ],
        tmp_path,
        env,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert f"{len(roles)} passed" in tested.stdout


def test_the_written_files(tmp_path: Path) -> None:
    root = write_plugin("my-gen", "generator", tmp_path)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "pyproject.toml",
        "tailorgen_my_gen/__init__.py",
        "tailorgen_my_gen/plugin.py",
        "tests/test_conformance.py",
    ]
    pyproject = (root / "pyproject.toml").read_text()
    assert '[project.entry-points.tailorgen]\nmy-gen = "tailorgen_my_gen"' in pyproject
    assert (
        "def register_generators(register: Any) -> None:\n    register(MyGen)"
        in (root / "tailorgen_my_gen" / "__init__.py").read_text()
    )


def test_the_written_code_passes_this_projects_lint_and_format(tmp_path: Path) -> None:
    """Long names included: the templates are written so ruff's formatting holds for any name."""
    for role in ROLE_HOOKS:
        write_plugin(f"a-rather-long-plugin-name-for-{role.replace('_', '-')}", role, tmp_path)
    config = str(Path(__file__).parents[1] / "pyproject.toml")
    for check in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *check, "--config", config, str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("name", "role", "message"),
    [
        ("My_Writer", "prompt_writer", "not a lower-case name"),
        ("ok", "painter", "unknown role 'painter'"),
    ],
)
def test_bad_names_and_roles(name: str, role: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(TailorgenError, match=message):
        write_plugin(name, role, tmp_path)


def test_an_existing_folder_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "tailorgen-mine").mkdir()
    (tmp_path / "tailorgen-mine" / "keep.txt").write_text("mine")
    with pytest.raises(TailorgenError, match="already exists"):
        write_plugin("mine", "dataset", tmp_path)
    assert [p.name for p in (tmp_path / "tailorgen-mine").iterdir()] == ["keep.txt"]

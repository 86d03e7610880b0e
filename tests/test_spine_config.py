"""Run config: TOML + env + --set precedence and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from tailorgen.config import load_config, parse_overrides
from tailorgen.errors import ConfigError


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(
        'labels = "coco-48-17"\n[run]\nseed = 3\nout_dir = "${CONFIG_DIR}/out"\n'
        '[generate]\nquota = 4\n[generator]\nplugin = "diffusers"\noptions = { steps = 4 }\n'
    )
    return path


def test_file_values_and_config_dir_expansion(config_file: Path) -> None:
    config = load_config(config_file)
    assert config.run.seed == 3
    assert config.run.out_dir == config_file.parent / "out"
    assert config.generator is not None
    assert config.generator.options == {"steps": 4}


def test_precedence_set_over_env_over_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILORGEN_RUN__SEED", "7")
    monkeypatch.setenv("TAILORGEN_GENERATE__QUOTA", "8")
    config = load_config(config_file, ["generate.quota=9"], env=True)
    assert config.run.seed == 7
    assert config.generate["quota"] == 9
    assert config.generator is not None
    assert config.generator.options["steps"] == 4  # untouched nested value survives the merge


def test_python_configs_read_the_environment_only_when_asked(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAILORGEN_RUN__SEED", "7")
    assert load_config(config_file).run.seed == 3
    assert load_config(config_file, env=True).run.seed == 7
    assert load_config({"labels": "coco-48-17", "run": {"seed": 3}}).run.seed == 3
    assert load_config({"labels": "coco-48-17"}, env=True).run.seed == 7


def test_config_from_a_dict_with_dict_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELS", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    data = {"labels": "coco-48-17", "run": {"out_dir": "${CONFIG_DIR}/out"}, "generate": {"quota": 4, "a": 1}}
    data["generator"] = {"plugin": "diffusers", "options": {"model": "${MODELS}/sd"}}
    config = load_config(data, {"generate": {"quota": 9}, "run": {"seed": 5}})
    assert config.path is None
    assert (config.run.seed, config.run.out_dir) == (5, tmp_path / "out")  # ${CONFIG_DIR}: the cwd
    assert config.generate == {"quota": 9, "a": 1}  # an override merges into the section
    assert config.generator is not None
    assert config.generator.options["model"] == f"{tmp_path}/sd"
    with pytest.raises(ConfigError, match=r"^config: run\.sede: .*did you mean 'seed'\?"):
        load_config({"labels": "coco-48-17", "run": {"sede": 1}})


def test_set_parses_toml_values() -> None:
    assert parse_overrides(["a.b=3", "a.c=true", "d=hello", 'e=["x", "y"]']) == {
        "a": {"b": 3, "c": True},
        "d": "hello",
        "e": ["x", "y"],
    }
    with pytest.raises(ConfigError, match="key.subkey=value"):
        parse_overrides(["novalue"])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'labels = "coco-48-17"\n[run]\nsed = 1\n',
            r"run\.sed: Extra inputs.*; did you mean 'seed'\?.*allowed keys under run: name",
        ),
        ('labels = "coco-48-17"\n[gnerate]\n', r"gnerate: Extra inputs.*; did you mean 'generate'\?"),
        (
            'labels = "coco-48-17"\n[run]\nstages = ["trian"]\n',
            r"unknown stage\(s\) trian; did you mean 'train'\?.*stages are: prompts",
        ),
        (
            'labels = "coco-48-17"\n[run]\nseed = "x"\n',
            r"run\.seed: Input should be a valid integer.*got 'x'",
        ),
        ('labels = "coco-48-17"\n[run]\nstages = ["gen"]\n', r"unknown stage\(s\) gen.*stages are: prompts"),
        ("labels = \n", r"not valid TOML"),
        ('labels = "${NOPE_NOT_SET}"\n', r"NOPE_NOT_SET.*not set"),
        ("[run]\nseed = 1\n", r"labels: Field required"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config("does/not/exist.toml")


def test_set_replaces_a_table_so_a_plugin_can_be_swapped(config_file: Path) -> None:
    merged = load_config(config_file, ["generator.plugin=other"])
    assert merged.generator is not None
    assert merged.generator.options == {"steps": 4}  # a dotted key merges into its table
    config = load_config(config_file, ["generator.plugin=other", "generator.options={}"])
    assert config.generator is not None
    assert (config.generator.plugin, config.generator.options) == ("other", {})
    config = load_config(config_file, ["generator.options={}", "generator.options.model=m"])
    assert config.generator is not None
    assert config.generator.options == {"model": "m"}  # later --set wins, in order
    config = load_config(config_file, ["generator={ plugin = 'x' }"])
    assert config.generator is not None
    assert (config.generator.plugin, config.generator.options) == ("x", {})


def test_errors_name_where_the_bad_value_came_from(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import BaseModel, ConfigDict

    class Generate(BaseModel):
        model_config = ConfigDict(extra="forbid")
        quota: int = 1

    with pytest.raises(ConfigError, match=r"^--set generate\.qouta: generate\.qouta: Extra inputs"):
        load_config(config_file, ["generate.qouta=5"]).stage_settings("generate", Generate)
    monkeypatch.setenv("TAILORGEN_GENERATE__QOUTA", "5")
    with pytest.raises(ConfigError, match=r"^environment TAILORGEN_GENERATE__QOUTA: generate\.qouta"):
        load_config(config_file, env=True).stage_settings("generate", Generate)
    monkeypatch.delenv("TAILORGEN_GENERATE__QOUTA")
    with pytest.raises(ConfigError, match=r"^--set run\.seed: run\.seed: Input should be a valid integer"):
        load_config(config_file, ["run.seed=abc"])
    config_file.write_text(config_file.read_text().replace("quota = 4", "quota = 'x'"))
    with pytest.raises(ConfigError, match=rf"^config {config_file}: generate\.quota"):
        load_config(config_file).stage_settings("generate", Generate)
    with pytest.raises(ConfigError, match="--set run.stages: run.stages: unknown stage"):
        load_config(config_file, ["run.stages=['trian']"])
    config = load_config(config_file, ["generator.plugin=x"])
    assert config.where("generator") == f"config {config_file} and --set generator.plugin"
    assert config.where("generator.options.steps") == f"config {config_file}"


def test_set_below_a_value_that_is_no_table_is_one_clear_error(config_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"--set generate\.quota\.x: generate\.quota is int 4, not a table"):
        load_config(config_file, ["generate.quota.x=1"])

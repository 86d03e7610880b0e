"""The Python front door: ``import tailorgen`` is light, every public name resolves, the docs' example runs."""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import tailorgen

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "python-api.md"
TEMPLATE_RUN = (
    'labels = "coco-48-17"\n[run]\nstages = ["prompts"]\n'
    '[prompt_writer]\nplugin = "template"\n[prompts]\nn_sets = 2\n'
)


@pytest.fixture
def tailorgen_logger() -> Iterator[logging.Logger]:
    """The ``tailorgen`` logger, its level put back afterwards (set_verbosity changes it)."""
    logger = logging.getLogger("tailorgen")
    level = logger.level
    yield logger
    logger.setLevel(level)


def test_import_is_light_and_lists_the_api() -> None:
    code = "import tailorgen, sys; tailorgen.__all__; dir(tailorgen); assert 'torch' not in sys.modules"
    code += (
        "; tailorgen.load_config; tailorgen.plan; tailorgen.run; tailorgen.LabelSet; tailorgen.set_verbosity"
    )
    code += "; assert 'torch' not in sys.modules, 'a config-level name pulled in torch'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_public_name_resolves() -> None:
    wanted = {"load_config", "run", "plan", "Classifier", "load_predictor", "publish", "ranking_metrics"}
    wanted |= {"LabelSet", "set_verbosity", "ConfigError", "PluginError", "TailorgenError", "__version__"}
    assert wanted <= set(tailorgen.__all__)
    for name in tailorgen.__all__:
        assert getattr(tailorgen, name) is not None, name
        assert name in dir(tailorgen)
    assert tailorgen.Classifier.__module__.startswith("tailorgen.classifier")
    assert tailorgen.run.__name__ == "run_pipeline"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = tailorgen.nope  # type: ignore[attr-defined]


def test_run_and_plan_take_a_path_a_dict_or_a_config(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(TEMPLATE_RUN)
    plan = tailorgen.plan(cfg, stages="prompts", out_dir=tmp_path / "planned")
    assert plan["run_dir"] == str(tmp_path / "planned")
    assert plan["stages"]["prompts"]["label_sets"] == 2
    data = {"labels": "coco-48-17", "prompt_writer": {"plugin": "template"}, "prompts": {"n_sets": 2}}
    summary = tailorgen.run(data, stages=["prompts"], out_dir=tmp_path / "run")
    assert summary["prompts"]["label_sets"] == 2
    assert (tmp_path / "run" / "prompts.jsonl").is_file()
    config = tailorgen.load_config(cfg, overrides={"prompts": {"n_sets": 3}})
    assert isinstance(config, tailorgen.RunConfig)
    assert tailorgen.plan(config, out_dir=tmp_path / "x")["stages"]["prompts"]["label_sets"] == 3
    with pytest.raises(tailorgen.ConfigError, match=r"unknown stage\(s\) promts; did you mean 'prompts'\?"):
        tailorgen.plan(config, stages=["promts"])


def test_the_library_logs_status_lines_to_the_tailorgen_logger(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tailorgen")
    cfg = tmp_path / "c.toml"
    cfg.write_text(TEMPLATE_RUN)
    tailorgen.run(cfg, out_dir=tmp_path / "run")
    tailorgen.run(cfg, out_dir=tmp_path / "run")  # resumes: says what is already there
    messages = [(r.name, r.getMessage()) for r in caplog.records]
    assert ("tailorgen.pipeline", "[tailorgen] stage prompts") in messages
    assert ("tailorgen.stages.prompts", "[prompts] 2 of 2 label sets already written; 0 to go") in messages
    assert all(name.startswith("tailorgen.") for name, _ in messages)


def test_set_verbosity_takes_levels_and_names(tailorgen_logger: logging.Logger) -> None:
    tailorgen.set_verbosity("debug")
    assert tailorgen_logger.level == logging.DEBUG
    tailorgen.set_verbosity(logging.ERROR)
    assert tailorgen_logger.level == logging.ERROR
    with pytest.raises(ValueError, match="unknown verbosity 'loud'"):
        tailorgen.set_verbosity("loud")


def test_set_verbosity_prints_status_lines_once_to_stderr(tmp_path: Path) -> None:
    """Without logging configured, set_verbosity(INFO) shows status lines, each once, on stderr,
    even after a library configures the root logger (open_clip calls ``logging.info``)."""
    code = (
        "import logging, sys, tailorgen\n"
        "tailorgen.set_verbosity(logging.INFO)\n"
        "logging.basicConfig()\n"
        f"summary = tailorgen.run({str(tmp_path / 'c.toml')!r}, out_dir={str(tmp_path / 'run')!r})\n"
        "print(summary['prompts']['label_sets'])\n"
    )
    (tmp_path / "c.toml").write_text(TEMPLATE_RUN)
    env = {**os.environ, "TAILORGEN_QUIET": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2\n"
    assert done.stderr.count("[tailorgen] stage prompts") == 1
    assert "INFO:" not in done.stderr


def test_load_predictor_and_the_cli_share_the_default_device() -> None:
    from tailorgen.cli.predict import predict
    from tailorgen.runtime.devices import DEFAULT_DEVICE

    default = inspect.signature(tailorgen.load_predictor).parameters["device"].default
    cli_default = next(p.default for p in predict.params if p.name == "device")
    assert default == cli_default == DEFAULT_DEVICE
    assert tailorgen.load_config({"labels": "coco-48-17"}).run.device == DEFAULT_DEVICE


def test_the_python_api_example_runs(demo_models: dict[str, Path], tmp_path: Path) -> None:
    """The code block of docs/python-api.md, run as written (the demo models prebuilt in its folder)."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    example = next(b for b in blocks if "ensure_demo_models" in b)
    (tmp_path / "example.py").write_text(example)
    (tmp_path / "demo-models").symlink_to(demo_models["coco"].parent, target_is_directory=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TAILORGEN_QUIET": "1"}
    done = subprocess.run(
        [sys.executable, "example.py"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[tailorgen] stage evaluate" in done.stderr  # set_verbosity(INFO) in the example
    report = json.loads((tmp_path / "runs" / "python-api" / "eval.json").read_text())
    zsl = report["models"]["clip-zeroshot"]["zsl"]["mAP"]
    assert f"'zsl': {round(zsl, 2)}" in done.stdout
    assert (tmp_path / "runs" / "python-api" / "classifier" / "model.safetensors").is_file()
    assert done.stdout.rstrip().splitlines()[-1].startswith("(1, ")

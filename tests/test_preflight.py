"""The dry run finds, without loading a model, what would stop a stage; ``run`` refuses such a plan."""

from __future__ import annotations

import json
from collections import namedtuple
from pathlib import Path

import pytest
import tailorgen.examples
from click.testing import CliRunner
from tailorgen.cli import cli
from tailorgen.config import load_config
from tailorgen.errors import TailorgenError
from tailorgen.pipeline import plan_pipeline, run_pipeline

EXAMPLES = Path(tailorgen.examples.__file__).parent
#: the tiny world with template prompts and real images only: no generation needed
CHEAP = ["prompt_writer.plugin=template", "prompt_writer.options={}", "train.mode=real", "train.epochs=1"]


@pytest.fixture
def tiny(demo_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(demo_models["coco"].parent))
    return EXAMPLES / "tiny.toml"


def _plan(config: Path, *overrides: str, out: Path, stages: str | None = None) -> dict:
    return plan_pipeline(load_config(config, [*CHEAP, *overrides]), stages, out)


def test_the_paper_config_without_its_data_names_the_key_to_fix(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(EXAMPLES / "coco-48-17.toml"), "--dry-run", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith(f"plan for {tmp_path} (seed 0; labels coco-48-17: 48 seen, 17 unseen)")
    train = next(line for line in text.splitlines() if line.startswith("  train "))
    assert "UNAVAILABLE" in train
    assert "- datasets.coco.options.root: data set root data/coco is not a folder" in text
    assert "export    ready" in text
    assert "would stop this run" in text.splitlines()[-1]
    as_json = CliRunner().invoke(
        cli, ["run", str(EXAMPLES / "coco-48-17.toml"), "--dry-run", "--json", "--out", str(tmp_path)]
    )
    stages = json.loads(as_json.stdout)["stages"]
    assert not stages["train"]["available"]
    assert stages["generate"]["disk"] == "about 3 GB for 3400 images (PNG)"  # 17 labels x 200 at 768 px


def test_a_run_that_would_fail_at_train_does_no_work_first(tiny: Path, tmp_path: Path) -> None:
    config = load_config(tiny, [*CHEAP, f"datasets.coco.options.root={tmp_path / 'nope'}"])
    with pytest.raises(
        TailorgenError, match=r"^datasets\.coco\.options\.root: data set root .*nope is not a folder"
    ):
        run_pipeline(config, ["prompts", "train"], tmp_path / "run")
    assert not (tmp_path / "run").exists()  # not even the prompts stage ran


def test_a_missing_annotation_file_and_a_missing_model_folder(tiny: Path, tmp_path: Path) -> None:
    plan = _plan(
        tiny,
        "evaluate.split=holdout",
        f"generator.options.model={tmp_path / 'sd'}",
        "train.backbone=local-dir:/no/clip",
        out=tmp_path / "run",
    )["stages"]
    assert plan["prompts"]["available"]
    assert plan["generate"]["problems"] == [
        f"generator.options.model: {tmp_path / 'sd'} is neither a local folder nor a Hub repo id"
    ]
    assert plan["train"]["problems"] == ["train.backbone: /no/clip is not a folder"]
    (problem,) = plan["evaluate"]["problems"]
    assert problem.startswith("datasets.coco.options.annotations: ")
    assert problem.endswith("instances_holdout.json not found (split 'holdout')")


def test_an_offline_hub_model_must_be_in_the_cache(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    plan = _plan(tiny, "generator.options.model=someone/sd", out=tmp_path / "run", stages="generate")
    assert plan["stages"]["generate"]["problems"] == [
        "generator.options.model: someone/sd is not in the Hub cache and offline mode is on (HF_HUB_OFFLINE)"
    ]
    # a model name an LLM server knows is no Hub id: an openai writer's model is not looked up
    served = ["prompt_writer.plugin=openai", "prompt_writer.options={model='meta-llama/Llama-3-8B'}"]
    plan = _plan(tiny, *served, out=tmp_path / "run", stages="prompts")
    assert plan["stages"]["prompts"]["available"]
    (tmp_path / "hub" / "models--someone--sd").mkdir(parents=True)
    plan = _plan(tiny, "generator.options.model=someone/sd", out=tmp_path / "run", stages="generate")
    assert plan["stages"]["generate"]["available"]


def test_an_output_folder_under_a_file_and_a_full_disk(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    plan = _plan(tiny, out=tmp_path / "file" / "run", stages="prompts")
    assert plan["problems"] == [f"run.out_dir: {tmp_path / 'file'} is a file, not a folder"]
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(
        "tailorgen.preflight.shutil.disk_usage", lambda path: usage(10**6, 10**6 - 1000, 1000)
    )
    plan = _plan(tiny, out=tmp_path / "run", stages="generate")["stages"]["generate"]
    (problem,) = plan["problems"]
    # 2 images for each of the 4 unseen labels at 64 x 64 px
    assert problem == f"generate.quota: 8 planned images need about 49 kB, but {tmp_path} has 1 kB free"

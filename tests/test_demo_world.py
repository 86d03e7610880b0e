"""``tailorgen demo`` picks its world: the shapes world when its pretrained models are found, else tiny."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import tailorgen.examples
from click.testing import CliRunner
from tailorgen.cli import cli
from tailorgen.config import load_config
from tailorgen.errors import TailorgenError
from tailorgen.stages.train import Settings as TrainSettings
from tailorgen.testing.shapes_demo import choose_world, ensure_shapes_data

WEIGHTS = Path(__file__).resolve().parents[1] / "benchmarks" / "shapes" / "weights"
SHAPES = Path(tailorgen.examples.__file__).parent / "shapes.toml"


@pytest.fixture(autouse=True)
def _no_named_weights(monkeypatch):
    monkeypatch.delenv("TAILORGEN_SHAPES_WEIGHTS", raising=False)


def test_a_clone_runs_the_demo_in_the_shapes_world():
    assert choose_world("auto") == ("shapes", WEIGHTS.resolve())
    assert choose_world("tiny") == ("tiny", None)


def test_without_the_weights_the_demo_runs_on_tiny_models(tmp_path):
    (tmp_path / "weights" / "clip").mkdir(parents=True)  # half a weights folder is none
    assert choose_world("auto", clone=tmp_path / "weights") == ("tiny", None)
    with pytest.raises(TailorgenError, match="--world tiny"):
        choose_world("shapes", clone=tmp_path / "weights")


def test_a_named_weights_folder_wins_and_a_wrong_one_is_an_error(tmp_path, monkeypatch):
    shutil.copytree(WEIGHTS / "clip", tmp_path / "named" / "clip")
    (tmp_path / "named" / "sd").mkdir()
    monkeypatch.setenv("TAILORGEN_SHAPES_WEIGHTS", str(tmp_path / "named"))
    assert choose_world("auto", clone=tmp_path / "none") == ("shapes", (tmp_path / "named").resolve())
    monkeypatch.setenv("TAILORGEN_SHAPES_WEIGHTS", str(tmp_path / "none"))
    with pytest.raises(TailorgenError, match="TAILORGEN_SHAPES_WEIGHTS"):
        choose_world("auto")


def test_the_shapes_demo_selects_without_unseen_labels_of_real_images(tmp_path, monkeypatch):
    monkeypatch.setenv("TAILORGEN_SHAPES_WEIGHTS", str(WEIGHTS))
    monkeypatch.setenv("TAILORGEN_SHAPES_DATA", str(tmp_path))
    config = load_config(SHAPES)
    train = TrainSettings.model_validate(config.train)
    assert train.selection == "zero-shot"
    assert "val_labels" not in train.model_fields_set
    assert (train.val_dataset or train.real_dataset, train.val_split) != (
        config.evaluate["dataset"],
        config.evaluate["split"],
    )


@pytest.mark.parametrize("world", ["auto", "tiny"])
def test_the_demo_says_which_world_it_ran_in(world, demo_models, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(demo_models["sd"].parent))
    monkeypatch.delenv("TAILORGEN_DEMO_WORLD")
    out = tmp_path / "run"
    args = ["demo", "--world", world, "--out", str(out), "--stages", "prompts"]
    with caplog.at_level(logging.INFO, logger="tailorgen"):
        result = CliRunner().invoke(cli, [*args, "--models-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    expected = "shapes" if world == "auto" else "tiny"
    assert f"demo world: {expected}" in caplog.text  # a status line on the tailorgen logger
    assert load_config(out / "config.toml").run.name == expected
    if expected == "shapes":  # the world's data set was built into the cache, and its shapes prompted
        assert (tmp_path / "cache" / "labels.json").is_file()
        assert "star" in (out / "prompts.jsonl").read_text()


def test_the_shapes_data_set_is_built_once(tmp_path):
    first = ensure_shapes_data(tmp_path / "data")
    stamp = (first / "labels.json").stat().st_mtime_ns
    assert ensure_shapes_data(tmp_path / "data") == first
    assert (first / "labels.json").stat().st_mtime_ns == stamp
    assert len(list((first / "images").iterdir())) == 160 + 64 + 200


def test_the_shapes_demo_trains_contexts_at_the_papers_settings(tmp_path, monkeypatch):
    from open_clip.tokenizer import SimpleTokenizer
    from tailorgen.classifier.prompts import PromptContexts
    from tailorgen.testing.shapes import SHAPES as SHAPE_NAMES

    monkeypatch.setenv("TAILORGEN_SHAPES_WEIGHTS", str(WEIGHTS))
    monkeypatch.setenv("TAILORGEN_SHAPES_DATA", str(tmp_path))
    train = TrainSettings.model_validate(load_config(SHAPES).train)
    assert (train.lr_context, train.warmup_epochs) == (0.002, 1)
    assert (train.randaugment, train.cutout) == (False, 0.0)  # 224 px augmentation, not for 64 px
    # as many context tokens as fit: every label's prompt keeps its name, period and end token
    prompts = PromptContexts(train.n_ctx, 32, 32)
    tokens = prompts.tokenize(list(SHAPE_NAMES))
    period = SimpleTokenizer().encode(".")[0]
    assert all(period in row.tolist() for row in tokens)
    assert any(row[-1] != 0 for row in tokens)  # the longest prompt fills the 32 positions

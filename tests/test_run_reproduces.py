"""A run directory reproduces its run: its config.toml resumes it, its classifier's card names it."""

from __future__ import annotations

from pathlib import Path

import pytest
import tailorgen.examples
from tailorgen.cli import main
from tailorgen.config import load_config
from tailorgen.pipeline import run_pipeline

TINY = Path(tailorgen.examples.__file__).parent / "tiny.toml"


def test_the_saved_config_resumes_its_run_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "cfg" / "prompts.toml"
    config.parent.mkdir()
    (config.parent / "mine.txt").write_text("cat\ndog\nbird\nfish\n")  # a label file beside the config
    config.write_text(
        'labels = "mine.txt"\n[run]\nout_dir = "runs/prompts"\nstages = ["prompts"]\n'
        '[prompt_writer]\nplugin = "template"\n[prompts]\nn_sets = 2\n'
    )
    monkeypatch.chdir(tmp_path)
    main(["-q", "run", str(config), "--out", "elsewhere/run"])
    run = tmp_path / "elsewhere" / "run"
    prompts = (run / "prompts.jsonl").read_bytes()
    moved = tmp_path / "moved"
    run.rename(moved)  # a run directory keeps working where it is moved to
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    saved = load_config(moved / "config.toml")
    assert saved.run.out_dir == moved
    assert Path(str(saved.labels)) == (config.parent / "mine.txt").resolve()
    main(["-q", "run", str(moved / "config.toml"), "--set", "prompts.n_sets=3"])
    assert list(work.iterdir()) == []  # nothing started elsewhere
    assert (moved / "prompts.jsonl").read_bytes().startswith(prompts)  # resumed: the two sets are kept
    assert (moved / "prompts.jsonl").read_bytes() != prompts


def test_the_run_card_names_the_model_and_shows_its_evaluation(
    demo_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(demo_models["coco"].parent))
    overrides = ["train.mode=real", "train.epochs=1", "evaluate.baselines=[]", "run.name=my-tagger"]
    run_pipeline(load_config(TINY, overrides), ["train"], tmp_path / "run")
    card = (tmp_path / "run" / "classifier" / "README.md").read_text()
    assert "model_name: my-tagger" in card
    assert "\n# my-tagger\n" in card
    assert "partial" not in card
    assert "No evaluation was run" in card
    run_pipeline(load_config(TINY, overrides), ["evaluate"], tmp_path / "run")
    card = (tmp_path / "run" / "classifier" / "README.md").read_text()
    assert "No evaluation was run" not in card
    assert "**this model**" in card  # the metrics table from the run's eval.json

"""The reference protocol through the train and evaluate stages of the offline demo world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tailorgen.classifier import Classifier
from tailorgen.config import load_config
from tailorgen.io import read_jsonl
from tailorgen.pipeline import run_pipeline
from test_train_stage import TINY, _synthetic, demo_env  # noqa: F401 (demo_env is a fixture)


def test_reference_protocol_trains_two_selections_and_evaluates_gzsl_with_its_own(
    demo_env,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    _synthetic(tmp_path, demo_env)
    config = load_config(TINY, ["run.protocol=reference", "train.epochs=3", "evaluate.baselines=[]"])
    summary = run_pipeline(config, ["train", "evaluate"], tmp_path)
    train = summary["train"]
    assert set(train["selections"]) == {"zsl", "gzsl"}
    zsl, gzsl = (
        Classifier.from_pretrained(tmp_path / "classifier"),
        Classifier.from_pretrained(tmp_path / "classifier-gzsl"),
    )
    assert zsl.preprocess["interpolation"] == gzsl.preprocess["interpolation"] == "bilinear"
    log = read_jsonl(tmp_path / "train" / "log.jsonl")
    lr_context = config.train.get("lr_context", 0.002)
    assert log[0]["pass_lr"]["real"][0] == pytest.approx(1e-5)  # the warm-up: epoch 1's real pass only
    assert log[0]["pass_lr"]["synthetic"][0] == pytest.approx(lr_context)
    assert all(set(entry["val_scores"]) == {"zsl", "gzsl"} for entry in log)
    report = json.loads((tmp_path / "eval.json").read_text())["models"]
    assert set(report) == {"classifier"}
    assert report["classifier"]["source"].endswith(f"(GZSL: {tmp_path / 'classifier-gzsl'})")
    # the GZSL row is the GZSL checkpoint's: the same as evaluating that folder alone
    alone = load_config(TINY, ["evaluate.baselines=[]", 'evaluate.classifier="classifier-gzsl"'])
    run_pipeline(alone, ["evaluate"], tmp_path)
    by_itself = json.loads((tmp_path / "eval.json").read_text())["models"]["classifier"]
    assert report["classifier"]["gzsl"] == by_itself["gzsl"]

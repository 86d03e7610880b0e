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


def test_label_quota_shrinks_the_lte_pool_in_the_finetune_stage(tmp_path: Path, demo_models) -> None:
    from tailorgen.finetune.label_quota import LabelQuota
    from test_finetune_stage import _config, _run_dir

    config = _config(tmp_path, demo_models, steps=6, label_sets="generation", label_quota=1)
    # the loose rule with every label in its top k accepts every image, so labels are credited each step
    text = config.read_text().replace(
        'device = "cpu" }\n[finetune]', 'device = "cpu", rule = "loose", top_k = 17 }\n[finetune]'
    )
    config.write_text(text)
    run = _run_dir(tmp_path)
    run_pipeline(load_config(config), ["finetune"], run)
    log = read_jsonl(run / "finetune" / "log.jsonl")
    quota = LabelQuota(1)
    for record in log:
        drawn = {label for labels in record["labels"] for label in labels}
        assert drawn.isdisjoint(quota.retired) or quota.retired >= {"bus", "cat", "cow"}
        assert record["credited"][0], record  # every image accepted: its labels are credited
        quota.observe(record)
    assert quota.retired  # the pool did shrink

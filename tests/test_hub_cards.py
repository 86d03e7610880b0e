"""Model card contents from a run directory, without a Hub (fast)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tailorgen.errors import TailorgenError
from tailorgen.hub.model_card import base_model_id, model_card
from tailorgen.hub.run_facts import read_run
from tailorgen.io import append_jsonl, atomic_write_json


def _run(root: Path, **extra_files: object) -> Path:
    config = {
        "label_names": ["a", "b", "c"],
        "seen": ["a"],
        "unseen": ["b", "c"],
        "backbone": "RN50:openai",
        "fusion_head": "global-branch",
        "clip_config": {},
    }
    atomic_write_json(root / "classifier" / "config.json", config)
    for name, value in extra_files.items():
        atomic_write_json(root / name.replace("__", "/").replace("_json", ".json"), value)
    return root


def test_acceptance_comes_from_the_generate_report(tmp_path: Path) -> None:
    report = {
        "summary": {"images": 30, "accepted": 30, "attempts": 120},
        "labels": [
            {
                "label": "b",
                "quota": 20,
                "accepted": 20,
                "attempts": 50,
                "acceptance_rate": 0.4,
                "status": "quota met",
            },
            {
                "label": "c",
                "quota": 20,
                "accepted": 12,
                "attempts": 90,
                "acceptance_rate": 0.1333,
                "status": "attempt budget spent",
            },
        ],
    }
    facts = read_run(_run(tmp_path, synthetic__report_json=report))
    assert facts.acceptance is not None
    assert (facts.acceptance.generated, facts.acceptance.accepted) == (120, 30)
    text = model_card(facts, "u/m").text
    assert "The filter kept **30 of 120** generated images (25.0%)." in text
    assert "| c | 12 | 90 | 13.3% |" in text


def test_acceptance_counts_kept_and_rejected_records_by_target(tmp_path: Path) -> None:
    root = _run(tmp_path)
    append_jsonl(
        root / "synthetic" / "metadata.jsonl",
        [{"file_name": "images/0.png", "targets": ["b"], "labels": ["b", "c"], "accepted": True}],
    )
    append_jsonl(
        root / "synthetic" / "rejected.jsonl",
        [
            {"targets": ["b"], "labels": ["b"], "accepted": False},
            {"targets": ["c"], "labels": ["c"], "accepted": False},
        ],
    )
    acceptance = read_run(root).acceptance
    assert acceptance is not None
    assert acceptance.per_label == {"b": (1, 2), "c": (0, 1)}  # c's extra positive label is not an attempt
    assert acceptance.rate == pytest.approx(1 / 3)


def test_card_without_eval_export_or_synthetic_data(tmp_path: Path) -> None:
    facts = read_run(_run(tmp_path))
    card = model_card(facts, "u/m")
    assert card.data.base_model == "timm/resnet50_clip.openai"
    assert card.data.eval_results is None
    assert "No evaluation was run" in card.text
    assert "On `unknown`" not in card.text
    assert "label set `labels`" in card.text  # built from config.json when the run's label set is gone
    assert card.data.label_set == {"name": "labels", "seen": ["a"], "unseen": ["b", "c"]}


def test_eval_metrics_are_flattened_and_counts_left_out(tmp_path: Path) -> None:
    ev = {
        "dataset": "nus-wide",
        "split": "val",
        "zsl": {"mAP": 43.1, "F1": {"k3": 30.2}, "n_images": 10},
        "seconds": 3.5,
        "per_label": {"b": {"AP": 0.5}},
    }
    card = model_card(read_run(_run(tmp_path, eval_json=ev)), "u/m")
    assert {r.metric_name: r.metric_value for r in card.data.eval_results} == {
        "zsl/mAP": 43.1,
        "zsl/F1/k3": 30.2,
        "per_label/b/AP": 0.5,
    }
    assert {(r.dataset_name, r.dataset_split) for r in card.data.eval_results} == {("nus-wide", "val")}
    assert "On `nus-wide` (val split):" in card.text


def test_onnx_usage_only_with_onnx(tmp_path: Path) -> None:
    facts = read_run(_run(tmp_path))
    assert "onnxruntime" in model_card(facts, "u/m", has_onnx=True).text
    assert "onnxruntime" not in model_card(facts, "u/m").text


def test_base_model_names_the_clip_checkpoint() -> None:
    assert base_model_id("RN50:openai") == "timm/resnet50_clip.openai"
    assert base_model_id("hf-hub:timm/resnet50_clip.openai") == "timm/resnet50_clip.openai"
    assert base_model_id("local-dir:/models/clip") is None
    assert base_model_id("NoSuchModel:nothing") is None


def test_a_folder_without_a_classifier_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(TailorgenError, match="no trained classifier"):
        read_run(tmp_path)
    (tmp_path / "classifier").mkdir()
    (tmp_path / "classifier" / "config.json").write_text(json.dumps({"clip_config": {}}))
    with pytest.raises(TailorgenError, match="no label_names"):
        read_run(tmp_path)


def test_eval_of_several_models_reports_this_one_beside_the_baselines(tmp_path: Path) -> None:
    counts = {"images": 12, "labels": 10, "positives": 23}
    ev = {
        "dataset": "coco",
        "split": "test",
        "images": 12,
        "ks": [3, 5],
        "models": {
            "clip-zeroshot": {"source": "RN50", "gzsl": {"mAP": 30.59, **counts}},
            "classifier": {
                "source": "run/classifier",
                "zsl": {"mAP": 61.07},
                "gzsl": {"mAP": 39.77, **counts},
            },
        },
    }
    card = model_card(read_run(_run(tmp_path, eval_json=ev)), "u/m")
    assert {r.metric_name: r.metric_value for r in card.data.eval_results} == {
        "zsl/mAP": 61.07,
        "gzsl/mAP": 39.77,
    }
    assert "| metric | **this model** | clip-zeroshot |" in card.text
    assert "| zsl/mAP | 61.07 | - |" in card.text
    assert "| gzsl/mAP | 39.77 | 30.59 |" in card.text


def test_cards_hide_local_paths_and_report_prompt_diversity(tmp_path: Path) -> None:
    import tomli_w
    from tailorgen.hub.text_encoder_repo import _card

    root = _run(
        tmp_path,
        prompts_report_json={
            "all": {
                "accepted": 27,
                "distinct_2": 0.8568,
                "mean_words": 18.3,
                "rejected_share": 0.5263,
                "embedding_diversity": None,
            }
        },
    )
    config = {
        "labels": "x.json",
        "generator": {"plugin": "diffusers", "options": {"model": "/home/me/models/sd"}},
        "prompt_writer": {"plugin": "hf-chat", "options": {"model": "example-org/chat-model"}},
    }
    (root / "config.toml").write_text(tomli_w.dumps(config))
    facts = read_run(root)
    facts.classifier_config["backbone"] = "local-dir:/home/me/clip-rn"
    texts = [model_card(facts, "u/m").text, _card(facts, "u/te", "/home/me/models/sd").text]
    for text in texts:
        assert "/home/me" not in text
        assert "<local>/sd" in text
    assert "`<local>/clip-rn`" in texts[0]
    assert (
        '`hf-chat` (model = "example-org/chat-model"); 27 prompts kept, distinct-2 0.86, '
        "18.3 words on average, 53% of candidates rejected."
    ) in texts[0]

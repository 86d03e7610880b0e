"""The evaluate stage on the tiny COCO fixture: clip-zeroshot baseline, a saved classifier, caching."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tailorgen.examples
from tailorgen.classifier import Classifier
from tailorgen.classifier.inference import predict
from tailorgen.cli import main
from tailorgen.config import load_config
from tailorgen.data.labels import load_label_set
from tailorgen.errors import ConfigError, TailorgenError
from tailorgen.evaluation.protocol import evaluate_settings
from tailorgen.pipeline import plan_pipeline, run_pipeline
from tailorgen.registry import create_dataset

TINY = Path(tailorgen.examples.__file__).parent / "tiny.toml"


@pytest.fixture
def demo_env(demo_models, monkeypatch):
    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(Path(demo_models["coco"]).parent))
    monkeypatch.setenv("TAILORGEN_QUIET", "1")
    return demo_models


def _evaluate(run: Path, *overrides: str) -> dict:
    config = load_config(TINY, list(overrides))
    return run_pipeline(config, ["evaluate"], run)["evaluate"]


def _test_split(demo_models: dict) -> tuple:
    labels = load_label_set(Path(demo_models["coco"]) / "labels.json")
    data = create_dataset("coco", root=str(demo_models["coco"])).load("test", labels.used, labels)
    return labels, data


def test_clip_zeroshot_baseline_writes_eval_json(demo_env, tmp_path, capsys):
    summary = _evaluate(tmp_path, 'evaluate.classifier=""')
    report = json.loads((tmp_path / "eval.json").read_text())
    labels, data = _test_split(demo_env)
    assert summary["images"] == report["images"] == len(data)
    assert report["split"] == "test"
    baseline = report["models"]["clip-zeroshot"]
    assert baseline["source"] == f"local-dir:{demo_env['clip-rn']}"  # the [train] backbone by default
    scores = np.load(tmp_path / "eval" / "clip-zeroshot.npy")
    assert scores.shape == (len(data), len(labels.used))
    expected = evaluate_settings(scores, data.targets.numpy() > 0, labels, label_names=labels.used)
    assert {k: baseline[k] for k in ("zsl", "gzsl")} == expected
    unseen = data.targets[:, labels.indices(labels.unseen)].sum(1) > 0
    assert baseline["zsl"]["images"] == int(unseen.sum()) < len(data)
    assert (baseline["zsl"]["labels"], baseline["gzsl"]["labels"]) == (len(labels.unseen), len(labels.used))
    # the saved ground truth lets `tailorgen score-metrics` reproduce the report from the files
    np.testing.assert_array_equal(np.load(tmp_path / "eval" / "targets.npy"), data.targets.numpy() > 0)
    eval_dir, label_file = tmp_path / "eval", str(Path(demo_env["coco"]) / "labels.json")
    files = [str(eval_dir / "clip-zeroshot.npy"), str(eval_dir / "targets.npy")]
    main(["score-metrics", *files, "--label-set", label_file, "--json"])  # exits only on errors
    assert json.loads(capsys.readouterr().out) == expected


def test_saved_classifier_is_evaluated_and_scores_are_reused(demo_env, tmp_path, monkeypatch):
    labels, data = _test_split(demo_env)
    model = Classifier.build(
        f"local-dir:{demo_env['clip-rn']}", labels.used, fusion_head="global-branch", n_ctx=4
    )
    model.save_pretrained(tmp_path / "classifier")
    _evaluate(tmp_path)
    report = json.loads((tmp_path / "eval.json").read_text())
    assert list(report["models"]) == ["classifier", "clip-zeroshot"]
    assert report["models"]["classifier"]["source"] == str(tmp_path / "classifier")
    scores = np.load(tmp_path / "eval" / "classifier.npy")
    loaded = Classifier.from_pretrained(tmp_path / "classifier")
    # another batch size: conv kernels may round the last float digit differently (seen: 1e-6)
    expected = predict(loaded, data, labels.used, batch_size=5).numpy()
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    # a second run scores nothing again and writes the same report
    first = (tmp_path / "eval.json").read_bytes()

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded although its scores were cached")

    monkeypatch.setattr(Classifier, "from_pretrained", no_loading)
    monkeypatch.setattr("tailorgen.evaluation.zeroshot.ClipZeroShot._loaded", property(no_loading))
    _evaluate(tmp_path)
    assert (tmp_path / "eval.json").read_bytes() == first
    # other templates are another baseline: scored again
    with pytest.raises(AssertionError, match="cached"):
        _evaluate(tmp_path, 'evaluate.templates=["{}"]')


def test_plan_loads_no_model(demo_env, tmp_path, monkeypatch):
    def no_loading(*args, **kwargs):
        raise AssertionError("plan loaded a model")

    monkeypatch.setattr("tailorgen.evaluation.zeroshot.ClipZeroShot._loaded", property(no_loading))
    monkeypatch.setattr(Classifier, "from_pretrained", no_loading)
    plan = plan_pipeline(load_config(TINY), ["evaluate"], tmp_path)["stages"]["evaluate"]
    assert plan["data"] == "coco:test"
    assert plan["models"][0] == f"classifier ({tmp_path / 'classifier'})"
    assert plan["models"][1].startswith("clip-zeroshot (local-dir:")
    assert plan["labels"] == {"zsl": 4, "gzsl": 10}


def test_config_and_input_mistakes(demo_env, tmp_path):
    with pytest.raises(ConfigError, match="evaluate.dataset is not set"):
        _evaluate(tmp_path, 'evaluate.dataset=""')
    with pytest.raises(ConfigError, match=r"no \[datasets.nope\]"):
        _evaluate(tmp_path, 'evaluate.dataset="nope"')
    with pytest.raises(ConfigError, match="evaluate.protocols"):
        _evaluate(tmp_path, 'evaluate.protocols=["fsl"]')
    with pytest.raises(TailorgenError, match="run the train stage first"):
        _evaluate(tmp_path)
    with pytest.raises(TailorgenError, match="^evaluate.clip_model: /nonexistent is not a folder"):
        _evaluate(tmp_path, 'evaluate.classifier=""', 'evaluate.clip_model="local-dir:/nonexistent"')
    with pytest.raises(TailorgenError, match="instances_holdout.json not found"):
        _evaluate(tmp_path, 'evaluate.classifier=""', 'evaluate.split="holdout"')


def test_corrupt_test_image_is_named_or_skipped(demo_env, tmp_path):
    import shutil

    coco = tmp_path / "coco"
    shutil.copytree(demo_env["coco"], coco)
    first = json.loads((coco / "annotations" / "instances_test.json").read_text())["images"][0]["file_name"]
    (coco / "images" / first).write_bytes(b"not a png")
    root = f'datasets.coco.options.root="{coco}"'
    run = tmp_path / "run"
    with pytest.raises(TailorgenError, match=rf"image {coco / 'images' / first} is corrupt"):
        _evaluate(run, root, 'evaluate.classifier=""', "evaluate.num_workers=2")  # raised in a worker
    _evaluate(run, root, "datasets.coco.options.skip_bad_images=true", 'evaluate.classifier=""')
    report = json.loads((run / "eval.json").read_text())
    assert report["skipped_images"] == 1
    assert report["images"] == len(_test_split(demo_env)[1]) - 1


def test_clip_regions_baseline_is_the_untrained_region_head_with_hand_prompts(demo_env, tmp_path):
    import torch
    from tailorgen.evaluation.zeroshot import ClipZeroShot

    _evaluate(tmp_path, 'evaluate.classifier=""', 'evaluate.baselines=["clip-regions", "clip-zeroshot"]')
    report = json.loads((tmp_path / "eval.json").read_text())
    assert list(report["models"]) == ["clip-regions", "clip-zeroshot"]
    labels, data = _test_split(demo_env)
    scores = np.load(tmp_path / "eval" / "clip-regions.npy")
    assert scores.shape == (len(data), len(labels.used))
    # the classifier's own positive branch, its contexts replaced by the template text embeddings
    backbone = f"local-dir:{demo_env['clip-rn']}"
    model = Classifier.build(backbone, labels.used, logit_scale="auto", aggregation_scale="auto")
    text = ClipZeroShot(backbone).text_embeddings(labels.used)
    data.transform = model.transform()
    images = torch.stack([data[i][0] for i in range(len(data))])
    expected = model.logits(images, torch.stack([text, text]))[:, 1].detach().numpy()
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(scores, np.load(tmp_path / "eval" / "clip-zeroshot.npy"))  # another model
    assert (
        report["models"]["clip-regions"]["zsl"]
        == evaluate_settings(scores, data.targets.numpy() > 0, labels, label_names=labels.used)["zsl"]
    )


def test_clip_regions_needs_a_resnet_backbone(demo_env, tmp_path):
    vit = f'evaluate.clip_model="local-dir:{demo_env["clip-vit"]}"'
    with pytest.raises(TailorgenError, match="no ModifiedResNet image tower"):
        _evaluate(tmp_path, 'evaluate.classifier=""', 'evaluate.baselines=["clip-regions"]', vit)

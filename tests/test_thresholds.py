"""Per-label thresholds chosen on validation data: how they are chosen, saved with the classifier,
carried into ONNX metadata and the Hub repo, and used by ``threshold="calibrated"``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tailorgen.examples
from export_helpers import NAMES, tiny_classifier, write_images, write_run
from tailorgen.classifier import Classifier
from tailorgen.classifier.thresholds import THRESHOLDS_FILE, choose_thresholds, merge_choices
from tailorgen.cli import main
from tailorgen.config import load_config
from tailorgen.errors import TailorgenError
from tailorgen.pipeline import run_pipeline
from tailorgen.predict import load_predictor, top_labels

TINY = Path(tailorgen.examples.__file__).parent / "tiny.toml"


def test_each_label_gets_its_max_f1_threshold_and_the_rest_the_median() -> None:
    scores = np.array([[0.9, 0.30, 0.5], [0.8, 0.62, 0.5], [0.4, 0.60, 0.5], [0.3, 0.55, 0.5]])
    targets = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]])
    chosen = choose_thresholds(scores, targets, ["a", "b", "c"], "val")["labels"]
    assert chosen["a"]["threshold"] == pytest.approx(0.6)  # between 0.8 and 0.4: F1 = 1
    assert chosen["a"]["f1"] == 1.0
    assert chosen["b"]["threshold"] == pytest.approx(0.575)  # between 0.60 and 0.55: F1 = 1
    assert "threshold" not in chosen["c"]  # no positive image: nothing to choose on
    merged = merge_choices([{"labels": chosen}], ["a", "b", "c", "d"])
    assert merged["thresholds"] == {"a": 0.6, "b": 0.575, "c": 0.5875, "d": 0.5875}
    assert merge_choices([{"labels": {"c": chosen["c"]}}], ["c"]) is None


def test_top_labels_with_one_threshold_per_label() -> None:
    probs = np.array([0.2, 0.9, 0.55, 0.7])
    cut = np.array([0.1, 0.95, 0.5, 0.8])
    assert [s.label for s in top_labels(probs, list("abcd"), top_k=None, threshold=cut)] == ["c", "a"]
    assert [s.label for s in top_labels(probs, list("abcd"), top_k=1, threshold=cut)] == ["c"]


@pytest.fixture(scope="module")
def calibrated(demo_models, tmp_path_factory) -> tuple[Path, dict[str, float]]:
    """A run with a classifier saved with thresholds, and its ONNX export."""
    run = tmp_path_factory.mktemp("calibrated")
    classifier = tiny_classifier(demo_models)
    classifier.thresholds = {name: round(0.3 + 0.05 * i, 2) for i, name in enumerate(NAMES)}
    return write_run(demo_models, run, classifier), classifier.thresholds


def test_thresholds_are_saved_loaded_and_exported(calibrated) -> None:
    run, thresholds = calibrated
    saved = json.loads((run / "classifier" / THRESHOLDS_FILE).read_text())
    assert saved["thresholds"] == thresholds
    assert Classifier.from_pretrained(run / "classifier").thresholds == thresholds
    for backend in ("torch", "onnx"):  # the ONNX file carries them in its metadata
        predictor = load_predictor(run, backend, device="cpu")
        np.testing.assert_allclose(predictor.thresholds, [thresholds[n] for n in NAMES])
        assert "thresholds='calibrated'" in repr(predictor)


def test_calibrated_threshold_keeps_labels_over_their_own_threshold(calibrated, tmp_path, capsys) -> None:
    run, thresholds = calibrated
    images = write_images(tmp_path, count=2)
    predictor = load_predictor(run / "export" / "model.onnx")
    rows = predictor.predict(images)
    for image, row in zip(images, rows, strict=True):
        want = {n for n, p in zip(NAMES, row, strict=True) if p >= thresholds[n]}
        got = predictor(image, top_k=None, threshold="calibrated")
        assert {x["label"] for x in got} == want
        assert 0 < len(want) < len(NAMES)  # the thresholds really select
    capsys.readouterr()
    main(["predict", str(run), *images, "--threshold", "calibrated", "--top-k", "0", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert [len(r["labels"]) for r in document["results"]] == [
        len(predictor(image, top_k=None, threshold="calibrated")) for image in images
    ]


def test_calibrated_without_thresholds_is_one_line_error(demo_models, tmp_path) -> None:
    tiny_classifier(demo_models).save_pretrained(tmp_path / "classifier")
    predictor = load_predictor(tmp_path / "classifier", device="cpu")
    assert predictor.thresholds is None
    assert not (tmp_path / "classifier" / THRESHOLDS_FILE).exists()
    with pytest.raises(TailorgenError, match="has no calibrated thresholds") as caught:
        predictor(write_images(tmp_path / "img", count=1)[0], threshold="calibrated")
    assert "\n" not in str(caught.value)


def test_train_stage_saves_thresholds_chosen_on_the_validation_split(
    demo_models, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(Path(demo_models["coco"]).parent))
    monkeypatch.setenv("TAILORGEN_QUIET", "1")
    config = load_config(TINY, ["train.epochs=1", 'train.mode="real"', 'train.val_labels="all"'])
    run_pipeline(config, ["train"], tmp_path)
    report = json.loads((tmp_path / "classifier" / THRESHOLDS_FILE).read_text())
    model = Classifier.from_pretrained(tmp_path / "classifier")
    assert set(report["thresholds"]) == set(model.label_names)
    assert model.thresholds == report["thresholds"]
    chosen = {n: e for n, e in report["labels"].items() if "threshold" in e}
    assert chosen  # some labels have both classes in the tiny val split
    assert all(e["source"] == "coco:val" and 0 < e["positives"] < e["images"] for e in chosen.values())
    assert all(0 <= t <= 1 for t in report["thresholds"].values())

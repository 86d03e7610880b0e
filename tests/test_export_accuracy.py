"""Exports judged by accuracy: mAP per variant on the evaluation images, static int8, the budget."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from export_helpers import tiny_classifier, write_images
from tailorgen.errors import ConfigError
from tailorgen.exporters.base import ValidationSettings
from tailorgen.exporters.onnx import OnnxExporter, OnnxOptions
from tailorgen.predict import load_predictor
from tailorgen.predict.torch_backend import TorchPredictor

ALL_VARIANTS = OnnxOptions(fp16=True, optimize=True, int8=True, int8_static=True, pixels=True)


@pytest.fixture(scope="module")
def data(demo_models, tmp_path_factory):
    """(classifier, evaluation images, targets PyTorch ranks perfectly, calibration images).

    Each label's positives are the images PyTorch scores above that label's median, so PyTorch's
    mAP is 100 and a variant that reorders images loses mAP."""
    root = tmp_path_factory.mktemp("accuracy")
    classifier = tiny_classifier(demo_models)
    images = write_images(root / "eval", count=24, seed=1)
    scores = TorchPredictor(classifier).predict(images)
    targets = (scores > np.median(scores, axis=0)).astype(int).tolist()
    return classifier, images, targets, write_images(root / "calibration", count=16, seed=2)


def _exporter(data, budget, options=ALL_VARIANTS):
    _, images, targets, calibration = data
    exporter = OnnxExporter(options)
    exporter.validation = ValidationSettings(
        map_budget=budget, calibration_images=calibration, accuracy_images=images, accuracy_targets=targets
    )
    return exporter


def test_every_variant_reports_its_map_and_static_int8_is_written(data, tmp_path):
    exporter = _exporter(data, budget=100.0)
    exporter.export(data[0], tmp_path)
    by_name = {r.artefact: r for r in exporter.reports}
    assert set(by_name) == {
        "model.onnx",
        "model.optimized.onnx",
        "model.fp16.onnx",
        "model.int8.onnx",
        "model.int8-static.onnx",
        "model.pixels.onnx",
    }
    for report in by_name.values():
        assert report.reference_map == pytest.approx(100.0)
        assert report.map == pytest.approx(report.reference_map - report.map_loss)
        assert report.refused is None
    assert by_name["model.onnx"].map_loss < 0.5
    static = tmp_path / "model.int8-static.onnx"
    ops = {node.op_type for node in __import__("onnx").load(str(static)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # QDQ format
    predictor = load_predictor(static)
    assert predictor.label_names == data[0].label_names
    np.testing.assert_allclose(
        predictor.predict(data[1][:4]), TorchPredictor(data[0]).predict(data[1][:4]), atol=0.1
    )


def test_a_variant_losing_more_than_the_budget_is_refused(data, tmp_path, caplog):
    (tmp_path / "model.int8.onnx").write_bytes(b"from an older export")
    exporter = _exporter(data, budget=0.5)
    with caplog.at_level(logging.WARNING, logger="tailorgen.exporters.accuracy"):
        exporter.export(data[0], tmp_path)
    refused = {r.artefact: r for r in exporter.reports if r.refused}
    assert refused, "the quantised variants reorder images: at least one loses more than 0.5 mAP"
    for name, report in refused.items():
        assert report.map_loss > 0.5
        assert not (tmp_path / name).exists()
        assert f"{name} refused: it loses {report.map_loss:.2f} mAP" in caplog.text
    kept = [r for r in exporter.reports if not r.refused]
    assert all(r.map_loss <= 0.5 for r in kept)
    assert all((tmp_path / r.artefact).is_file() for r in kept)
    assert "model.onnx" in {r.artefact for r in kept}


def test_static_int8_needs_calibration_images_and_an_older_one_goes(data, tmp_path):
    exporter = OnnxExporter(OnnxOptions(int8_static=True))
    with pytest.raises(ConfigError, match="int8_static needs more than 3 calibration images and has 0"):
        exporter.export(data[0], tmp_path)
    exporter.validation = ValidationSettings(calibration_images=data[3][:3])
    with pytest.raises(ConfigError, match=r"has 3 \(3 are held out to check it\)"):
        exporter.export(data[0], tmp_path)
    (tmp_path / "model.int8-static.onnx").write_bytes(b"from an older export")
    OnnxExporter().export(data[0], tmp_path)
    assert not (tmp_path / "model.int8-static.onnx").exists()


def test_static_int8_is_checked_on_images_kept_out_of_its_calibration(data, tmp_path, monkeypatch):
    """Its tolerance check runs on the last calibration images, which the calibration never sees."""
    from tailorgen.exporters import onnx_variants

    calibrated, checked = [], []
    quantize = onnx_variants.quantize_int8_static

    def recording(source, target, metadata, calibration):
        calibrated.extend(np.concatenate(calibration))
        quantize(source, target, metadata, calibration)

    check = OnnxExporter._check

    def recording_check(self, *args):  # (classifier, path, tolerance, artefact, images)
        if args[3] == "model.int8-static.onnx":
            checked.extend(args[4])
        return check(self, *args)

    monkeypatch.setattr(onnx_variants, "quantize_int8_static", recording)
    monkeypatch.setattr(OnnxExporter, "_check", recording_check)
    _exporter(data, budget=100.0, options=OnnxOptions(int8_static=True)).export(data[0], tmp_path)
    paths = data[3]
    assert len(calibrated) == len(paths) - 3
    assert len(checked) == 3
    reference = TorchPredictor(data[0])
    np.testing.assert_array_equal(np.stack(checked), reference.preprocess(_load(paths[-3:])))
    np.testing.assert_array_equal(np.stack(calibrated), reference.preprocess(_load(paths[:-3])))


def _load(paths):
    from tailorgen.predict.images import load_image

    return [load_image(p) for p in paths]

"""ONNX export: dynamic batch, metadata round trip, validation (and its failure path), variants."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from export_helpers import tiny_classifier
from tailorgen.errors import ConfigError, TailorgenError
from tailorgen.exporters import onnx_graph
from tailorgen.exporters.base import ValidationSettings
from tailorgen.exporters.metadata import ModelMetadata, read_onnx_metadata
from tailorgen.exporters.onnx import OnnxExporter, OnnxOptions
from tailorgen.exporters.validation import FP32, ExportValidationError, Tolerance, compare
from tailorgen.predict.onnx_backend import OnnxPredictor
from tailorgen.predict.torch_backend import TorchPredictor


@pytest.fixture(scope="module")
def classifier(demo_models):
    return tiny_classifier(demo_models)


@pytest.fixture(scope="module")
def exported(classifier, tmp_path_factory):
    exporter = OnnxExporter(OnnxOptions(fp16=True, optimize=True, int8=True))
    path = exporter.export(classifier, tmp_path_factory.mktemp("export"))
    return path, exporter.reports


def test_batch_axis_is_dynamic(classifier, exported):
    path, _ = exported
    batch_dim = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param
    assert not batch_dim.dim_value
    onnx_model, torch_model = OnnxPredictor(path), TorchPredictor(classifier)
    for batch in (1, 5):  # the graph was traced at batch 2
        images = np.random.default_rng(batch).standard_normal((batch, 3, 64, 64), dtype=np.float32)
        got, want = onnx_model.probabilities(images), torch_model.probabilities(images)
        assert got.shape == (batch, len(classifier.label_names))
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-3)


def test_metadata_round_trip(classifier, exported):
    path, _ = exported
    expected = ModelMetadata.from_classifier(classifier)
    assert read_onnx_metadata(path) == expected
    assert OnnxPredictor(path).metadata == expected  # as onnxruntime reads it
    assert expected.label_names == classifier.label_names
    assert expected.preprocess["image_size"] == 64
    assert expected.preprocess["interpolation"] == "bicubic"


def test_every_artefact_is_validated_at_another_batch_size(exported):
    path, reports = exported
    assert [r.artefact for r in reports] == [
        "model.onnx",
        "model.fp16.onnx",
        "model.optimized.onnx",
        "model.int8.onnx",
    ]
    for report in reports:
        assert report.passed
        assert report.batch_size == 3
        assert report.saturated_fraction == 0
        assert (path.parent / report.artefact).is_file()
    assert (reports[0].atol, reports[0].rtol) == (1e-4, 1e-3)
    assert reports[1].atol > reports[0].atol
    assert reports[3].atol > reports[1].atol
    for variant in reports[1:]:
        assert read_onnx_metadata(path.parent / variant.artefact) == read_onnx_metadata(path)


def _perturbed_copy(source, target, metadata, batch_size):
    """Stands in for the tracer: writes the good export with its baked-in text features perturbed."""
    model = onnx.load(str(source))
    (text,) = [t for t in model.graph.initializer if list(t.dims) == [2, len(metadata.label_names), 32]]
    values = onnx.numpy_helper.to_array(text) + np.random.default_rng(0).normal(0, 0.3, list(text.dims))
    text.CopyFrom(onnx.numpy_helper.from_array(values.astype(np.float32), text.name))
    onnx_graph.save_model(model, target, metadata)


def test_perturbed_model_fails_export_with_the_measured_error(classifier, exported, tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_graph, "export_graph", lambda _model, *args: _perturbed_copy(exported[0], *args))
    with pytest.raises(ExportValidationError, match=r"max abs error 0\.\d+ \(atol 0\.0001") as info:
        OnnxExporter().export(classifier, tmp_path)
    assert "model.onnx vs PyTorch at batch 3: FAILED" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # neither the model nor a temp file is left behind


def test_validation_batch_must_differ_from_export_batch(classifier, tmp_path):
    exporter = OnnxExporter(OnnxOptions(export_batch_size=3))
    exporter.validation = ValidationSettings(batch_size=3)
    with pytest.raises(ConfigError, match="equals the onnx export batch size"):
        exporter.export(classifier, tmp_path)


def test_a_foreign_onnx_file_is_refused_by_name(tmp_path):
    path = tmp_path / "plain.onnx"
    node = onnx.helper.make_node("Identity", ["x"], ["y"])
    value = onnx.helper.make_tensor_value_info
    graph = onnx.helper.make_graph([node], "g", [value("x", 1, [1])], [value("y", 1, [1])])
    onnx.save(onnx.helper.make_model(graph), str(path))
    with pytest.raises(TailorgenError, match=f"{path} has no tailorgen metadata"):
        read_onnx_metadata(path)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(TailorgenError, match="cannot load ONNX model"):
        OnnxPredictor(tmp_path / "junk.onnx")


def _compare(reference, candidate, tolerance=FP32):
    return compare(np.array(reference), np.array(candidate), tolerance, artefact="a", reference_name="r")


def test_compare_measures_errors_and_treats_near_ties_as_ties():
    ref = [[0.90, 0.50, 0.50004, 0.10]]
    assert _compare(ref, ref).passed
    swapped_tie = _compare(ref, [[0.90, 0.50006, 0.50002, 0.10]])  # within tolerance, order flipped
    assert swapped_tie.passed
    assert swapped_tie.ranking_mismatches == 0
    off = _compare(ref, [[0.90, 0.52, 0.50004, 0.10]])
    assert not off.passed
    assert off.max_abs_error == pytest.approx(0.02)
    loose = Tolerance(atol=0.05, rtol=0.0, top_k=2)
    assert _compare(ref, [[0.60, 0.64, 0.5, 0.1]], loose).ranking_mismatches == 1  # 0.9 vs 0.5: no tie
    assert not _compare(ref, [[np.nan, 0.5, 0.5, 0.1]]).passed
    with pytest.raises(ExportValidationError, match="shape"):
        _compare(ref, [[0.9, 0.5]])


def test_saturated_outputs_fail_validation_with_a_clear_message(demo_models, tmp_path, caplog):
    """At 0/1 a wrong export agrees as well as a right one: such a check fails, saying why."""
    ref = [[1.0, 0.0, 1e-8, 0.3]] * 3  # 3 of 4 probabilities saturated
    report = _compare(ref, ref)
    assert report.saturated
    assert "(75% of the probabilities saturated at 0/1)" in report.summary()
    assert not _compare([[1.0, 0.0, 0.5, 0.3]], [[1.0, 0.0, 0.5, 0.3]]).saturated  # half is not too many
    assert _compare([[0.5, 0.5]], [[1.0, 0.0]]).saturated  # a saturated candidate counts too
    from tailorgen.classifier import Classifier

    saturating = Classifier.build(f"local-dir:{demo_models['clip-rn']}", ["a", "b", "c"], logit_scale=100.0)
    with pytest.raises(
        ExportValidationError, match=r"validation of model\.onnx proves nothing: \d+% .*saturated"
    ) as info:
        OnnxExporter().export(saturating, tmp_path)
    assert "[export] allow_saturated = true" in str(info.value)
    assert list(tmp_path.iterdir()) == []
    exporter = OnnxExporter()
    exporter.validation = ValidationSettings(allow_saturated=True)
    with caplog.at_level("WARNING", logger="tailorgen.exporters.validation"):
        exporter.export(saturating, tmp_path)
    assert exporter.reports[0].saturated
    assert "model.onnx kept unjudged" in caplog.text

"""TensorRT exporter: builder logic against a fake ``tensorrt`` module, the install hint, a real-GPU test."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from export_helpers import NAMES, tiny_classifier, write_images
from fake_tensorrt import FakeTensorRT
from tailorgen.cli import main
from tailorgen.errors import TailorgenError
from tailorgen.exporters import tensorrt as trt_exporter
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.exporters.onnx import OnnxExporter
from tailorgen.exporters.tensorrt import TensorRTExporter, TensorRTOptions
from tailorgen.exporters.tensorrt_build import BatchProfile, build_engine, engine_file_name
from tailorgen.predict import tensorrt_backend
from tailorgen.predict.onnx_backend import OnnxPredictor
from tailorgen.predict.tensorrt_backend import TensorRTPredictor, TensorRTRunner

PROFILE = BatchProfile(1, 4, 16)


def _build(trt, tmp_path, profile=PROFILE, **kw):
    return build_engine(
        trt,
        tmp_path / "model.onnx",
        tmp_path / "model.engine",
        profile=profile,
        timing_cache=tmp_path / "timing.cache",
        **kw,
    )


def test_builder_sets_the_batch_profile_and_writes_the_engine(tmp_path):
    trt = FakeTensorRT()
    result = _build(trt, tmp_path, workspace_bytes=2**30, tf32=False)
    assert ("profile", ("images", (1, 3, 64, 64), (4, 3, 64, 64), (16, 3, 64, 64))) in trt.calls
    assert ("create_network", ()) in trt.calls  # TensorRT 11: strongly typed without a flag
    assert ("workspace", 2**30) in trt.calls
    assert ("clear_flag", "tf32") in trt.calls
    assert (tmp_path / "model.engine").read_bytes().startswith(b"FAKE-ENGINE")
    assert result.input_shape == (-1, 3, 64, 64)
    assert not result.timing_cache_reused
    tensorrt10 = FakeTensorRT(version="10.13.0.35")
    _build(tensorrt10, tmp_path)
    assert ("create_network", (1 << 1,)) in tensorrt10.calls  # 10.x: ask for strong typing


def test_timing_cache_is_persisted_and_reused(tmp_path):
    _build(FakeTensorRT(), tmp_path)
    assert (tmp_path / "timing.cache").read_bytes() == b"+timings"
    second = FakeTensorRT()
    assert _build(second, tmp_path).timing_cache_reused
    assert ("create_timing_cache", b"+timings") in second.calls
    assert (tmp_path / "timing.cache").read_bytes() == b"+timings+timings"


def test_a_cache_from_another_gpu_is_replaced(tmp_path):
    (tmp_path / "timing.cache").write_bytes(b"other-gpu")
    trt = FakeTensorRT()
    assert not _build(trt, tmp_path).timing_cache_reused
    assert trt.calls.count(("create_timing_cache", b"")) == 1
    assert (tmp_path / "timing.cache").read_bytes() == b"+timings"


def test_parser_errors_are_reported_with_their_nodes(tmp_path):
    trt = FakeTensorRT(parse_errors=[("Unsupported operator Foo", 3), ("Bad shape", 7)])
    with pytest.raises(
        TailorgenError,
        match=r"cannot parse .*model\.onnx: Unsupported operator Foo at node 3 "
        r"\(/conv1, Conv\); Bad shape at node 7",
    ) as info:
        _build(trt, tmp_path)
    assert not (tmp_path / "model.engine").exists()
    assert "\n" not in str(info.value)


def test_failed_build_and_bad_profiles_are_clear_errors(tmp_path):
    trt = FakeTensorRT()
    trt.build_ok = False
    with pytest.raises(TailorgenError, match="could not build an engine"):
        _build(trt, tmp_path)
    refusing = FakeTensorRT()
    refusing.refuse_profile = True
    with pytest.raises(TailorgenError, match=r"TensorRT refused the batch profile 1\.\.16"):
        _build(refusing, tmp_path)
    with pytest.raises(TailorgenError, match="min_batch <= opt_batch <= max_batch"):
        BatchProfile(4, 2, 8)
    with pytest.raises(ValueError, match="min_batch <= opt_batch"):
        TensorRTOptions(min_batch=8, opt_batch=4)


def test_engine_files_are_keyed_by_gpu_and_tensorrt_version():
    assert engine_file_name("model", "NVIDIA H200", "11.4.0.106") == "model.nvidia-h200.trt11.4.0.106.engine"
    assert engine_file_name("model.fp16", "NVIDIA GeForce RTX 4090", "10.13") == (
        "model.fp16.nvidia-geforce-rtx-4090.trt10.13.engine"
    )


def test_without_tensorrt_the_error_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # makes `import tensorrt` raise ImportError
    with pytest.raises(
        TailorgenError, match=r"TensorRT is not available .*pip install 'tailorgen\[tensorrt\]'"
    ):
        TensorRTExporter().export(object(), tmp_path)
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"x")
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "image.png")  # predict checks its images before the model
    with pytest.raises(SystemExit) as code:
        main(["predict", str(engine), str(tmp_path / "image.png")])
    assert code.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: TensorRT is not available")
    assert "pip install tensorrt" in err
    assert len(err.splitlines()) == 1


def _on_host(monkeypatch):
    """The fake runtime reads host memory: the exporter's runner binds CPU buffers."""
    monkeypatch.setattr(
        tensorrt_backend,
        "TensorRTRunner",
        lambda engine, device: TensorRTRunner(engine, device="cpu"),
    )


def test_exporter_builds_validates_and_writes_metadata(demo_models, tmp_path, monkeypatch):
    """The exporter with the fake TensorRT: the runner runs the built engine through the fake runtime."""
    trt = FakeTensorRT()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(trt_exporter, "gpu_name", lambda device: "NVIDIA H200")
    _on_host(monkeypatch)
    classifier = tiny_classifier(demo_models)
    exporter = TensorRTExporter(TensorRTOptions(opt_batch=4, max_batch=8))
    engine = exporter.export(classifier, tmp_path)
    assert engine.name == "model.nvidia-h200.trt11.4.0.106.engine"
    assert json.loads(engine.read_bytes().removeprefix(b"FAKE-ENGINE"))["profile"][2] == [8, 3, 64, 64]
    assert (tmp_path / "timing.nvidia-h200.trt11.4.0.106.cache").is_file()
    meta = ModelMetadata.model_validate(json.loads((tmp_path / (engine.name + ".json")).read_text()))
    assert meta == ModelMetadata.from_classifier(classifier)
    assert [r.artefact for r in exporter.reports] == ["model.onnx", engine.name]
    assert exporter.reports[1].reference == "onnxruntime"
    assert exporter.reports[1].passed
    assert ("execute", (3, 3, 64, 64)) in trt.calls  # validation really ran the engine


def test_a_broken_engine_fails_export_validation(demo_models, tmp_path, monkeypatch):
    """An engine that computes something else never lands (validation compares with onnxruntime)."""
    from tailorgen.exporters.validation import ExportValidationError

    classifier = tiny_classifier(demo_models)
    OnnxExporter().export(tiny_classifier(demo_models, seed=1), tmp_path / "other")
    trt = FakeTensorRT()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(trt_exporter, "gpu_name", lambda device: "NVIDIA H200")
    _on_host(monkeypatch)
    real_build = trt.Builder.build_serialized_network

    def build_from_other_model(self, network, config):
        network.onnx = str(tmp_path / "other" / "model.onnx")  # as if TensorRT mis-compiled the graph
        return real_build(self, network, config)

    monkeypatch.setattr(trt.Builder, "build_serialized_network", build_from_other_model)
    with pytest.raises(ExportValidationError, match="export validation failed"):
        TensorRTExporter(TensorRTOptions(opt_batch=4, max_batch=8)).export(classifier, tmp_path)
    assert not list(tmp_path.glob("*.engine"))


@pytest.fixture(scope="module")
def engine(demo_models, tmp_path_factory):
    """(directory, fake TensorRT) with model.onnx and a fake engine over batches 2..4 built from it."""
    out = tmp_path_factory.mktemp("engine")
    classifier = tiny_classifier(demo_models)
    OnnxExporter().export(classifier, out)
    trt = FakeTensorRT()
    build_engine(
        trt, out / "model.onnx", out / "model.engine", profile=BatchProfile(2, 3, 4), timing_cache=out / "t"
    )
    (out / "model.engine.json").write_text(ModelMetadata.from_classifier(classifier).model_dump_json())
    return out, trt


@pytest.mark.parametrize("count", [1, 2, 4, 5, 9])
def test_runner_splits_and_pads_batches_to_the_profile(engine, monkeypatch, count):
    """Batches above max_batch are split, a short one (or last chunk) below min_batch is padded."""
    out, trt = engine
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    images = np.random.default_rng(count).standard_normal((count, 3, 64, 64), dtype=np.float32)
    trt.calls.clear()
    got = TensorRTRunner(out / "model.engine", device="cpu")(images)
    want = OnnxPredictor(out / "model.onnx").probabilities(images)
    np.testing.assert_allclose(got, want, atol=1e-6)
    batches = [shape[0] for kind, shape in (c for c in trt.calls if c[0] == "execute")]
    assert all(2 <= b <= 4 for b in batches)
    assert sum(min(b, count - 4 * i) for i, b in enumerate(batches)) == count


def test_predictor_reads_images_through_the_engine(engine, monkeypatch):
    out, trt = engine
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    predictor = TensorRTPredictor(out / "model.engine", device="cpu")
    assert predictor.label_names == NAMES
    paths = write_images(out / "images", count=5)
    np.testing.assert_allclose(
        predictor.predict(paths, batch_size=5), OnnxPredictor(out / "model.onnx").predict(paths), atol=1e-6
    )
    assert predictor.runner(np.zeros((0, 3, 64, 64), np.float32)).shape == (0, len(NAMES))


def test_runner_errors_name_what_failed(engine, monkeypatch, tmp_path):
    out, trt = engine
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    runner = TensorRTRunner(out / "model.engine", device="cpu")
    with pytest.raises(
        TailorgenError, match=r"refuses input shape \(2, 3, 32, 32\).* 2\.\.4 images of \(3, 64, 64\)"
    ):
        runner(np.zeros((2, 3, 32, 32), np.float32))
    trt.fail_execution = True
    try:
        with pytest.raises(TailorgenError, match="failed to bind the buffers or run the engine"):
            runner(np.zeros((2, 3, 64, 64), np.float32))
    finally:
        trt.fail_execution = False
    foreign = tmp_path / "other.engine"
    foreign.write_bytes(b"built elsewhere")
    with pytest.raises(TailorgenError, match="cannot load engine .*other.engine.*export it again here"):
        TensorRTRunner(foreign, device="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(TailorgenError, match="needs a CUDA GPU and none is visible"):
            TensorRTRunner(out / "model.engine")
    for flag, value, message in [
        ("fail_context", True, "cannot create an execution context"),
        ("extra_outputs", 1, "a tailorgen classifier has one input and one output"),
        ("io_dtype", "INT8", "tensor images has data type INT8"),
    ]:
        broken = FakeTensorRT()
        setattr(broken, flag, value)
        monkeypatch.setitem(sys.modules, "tensorrt", broken)
        with pytest.raises(TailorgenError, match=message):
            TensorRTRunner(out / "model.engine", device="cpu")


@pytest.mark.tensorrt
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_real_tensorrt_engine_matches_onnxruntime(demo_models, tmp_path, precision):
    from tailorgen.predict import load_predictor

    classifier = tiny_classifier(demo_models)
    exporter = TensorRTExporter(TensorRTOptions(precision=precision, opt_batch=4, max_batch=8))
    engine = exporter.export(classifier, tmp_path)
    assert all(r.passed for r in exporter.reports)
    images = np.random.default_rng(0).standard_normal((5, 3, 64, 64), dtype=np.float32)
    got = load_predictor(engine).probabilities(images)
    want = load_predictor(tmp_path / "model.onnx").probabilities(images)
    np.testing.assert_allclose(got, want, atol=1e-4 if precision == "fp32" else 5e-3, rtol=1e-2)

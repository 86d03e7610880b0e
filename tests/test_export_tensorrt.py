"""TensorRT exporter: builder logic against a fake ``tensorrt`` module, the install hint, a real-GPU test."""

from __future__ import annotations

import importlib.util
import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from export_helpers import tiny_classifier
from tailorgen.cli import main
from tailorgen.errors import TailorgenError
from tailorgen.exporters import tensorrt as trt_exporter
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.exporters.tensorrt import TensorRTExporter, TensorRTOptions
from tailorgen.exporters.tensorrt_build import BatchProfile, build_engine, engine_file_name
from tailorgen.predict import tensorrt_backend


class FakeTensorRT(SimpleNamespace):
    """Just enough of the TensorRT 11 Python API for the builder, recording what it was asked."""

    def __init__(self, version="11.4.0.106", parse_errors=(), foreign_cache=b"other-gpu"):
        calls: list[tuple] = []
        fake = self

        class Parser:
            def __init__(self, network, logger):
                self.errors = [
                    SimpleNamespace(
                        desc=lambda d=d: d,
                        node=lambda n=n: n,
                        node_name=lambda: "/conv1",
                        node_operator=lambda: "Conv",
                    )
                    for d, n in parse_errors
                ]

            num_errors = property(lambda self: len(self.errors))

            def get_error(self, i):
                return self.errors[i]

            def parse_from_file(self, path):
                calls.append(("parse", path))
                return not self.errors

        class Config:
            def __init__(self):
                self.cache = None

            def set_memory_pool_limit(self, pool, size):
                calls.append(("workspace", size))

            def clear_flag(self, flag):
                calls.append(("clear_flag", flag))

            def create_timing_cache(self, data):
                calls.append(("create_timing_cache", bytes(data)))
                return SimpleNamespace(data=bytes(data))

            def set_timing_cache(self, cache, ignore_mismatch):
                if cache.data == foreign_cache:
                    return False
                self.cache = cache
                return True

            def get_timing_cache(self):
                return SimpleNamespace(serialize=lambda: self.cache.data + b"+timings")

            def add_optimization_profile(self, profile):
                calls.append(("profile", profile.shapes))

        class Builder:
            def __init__(self, logger):
                pass

            def create_network(self, *flags):
                calls.append(("create_network", flags))
                return SimpleNamespace(
                    num_inputs=1, get_input=lambda i: SimpleNamespace(name="images", shape=(-1, 3, 64, 64))
                )

            create_builder_config = staticmethod(Config)

            def create_optimization_profile(self):
                profile = SimpleNamespace(shapes=None)
                profile.set_shape = lambda name, lo, opt, hi: setattr(profile, "shapes", (name, lo, opt, hi))
                return profile

            def build_serialized_network(self, network, config):
                return b"ENGINE" if fake.build_ok else None

        super().__init__(
            __version__=version,
            calls=calls,
            build_ok=True,
            Builder=Builder,
            OnnxParser=Parser,
            Logger=type("Logger", (), {"WARNING": 2, "__init__": lambda self, level: None}),
            NetworkDefinitionCreationFlag=SimpleNamespace(STRONGLY_TYPED=1),
            MemoryPoolType=SimpleNamespace(WORKSPACE="workspace"),
            BuilderFlag=SimpleNamespace(TF32="tf32"),
        )


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
    assert (tmp_path / "model.engine").read_bytes() == b"ENGINE"
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


def test_exporter_builds_validates_and_writes_metadata(demo_models, tmp_path, monkeypatch):
    """The exporter's own logic with the fake TensorRT; the 'engine' is run by onnxruntime."""
    from tailorgen.predict.onnx_backend import OnnxPredictor

    monkeypatch.setitem(sys.modules, "tensorrt", FakeTensorRT())
    monkeypatch.setattr(trt_exporter, "gpu_name", lambda device: "NVIDIA H200")
    monkeypatch.setattr(
        tensorrt_backend,
        "TensorRTRunner",
        lambda engine, device: OnnxPredictor(tmp_path / "model.onnx").probabilities,
    )
    classifier = tiny_classifier(demo_models)
    exporter = TensorRTExporter(TensorRTOptions(opt_batch=4, max_batch=8))
    engine = exporter.export(classifier, tmp_path)
    assert engine.name == "model.nvidia-h200.trt11.4.0.106.engine"
    assert engine.read_bytes() == b"ENGINE"
    assert (tmp_path / "timing.nvidia-h200.trt11.4.0.106.cache").is_file()
    meta = ModelMetadata.model_validate(json.loads((tmp_path / (engine.name + ".json")).read_text()))
    assert meta == ModelMetadata.from_classifier(classifier)
    assert [r.artefact for r in exporter.reports] == ["model.onnx", engine.name]
    assert exporter.reports[1].reference == "onnxruntime"
    assert exporter.reports[1].passed


needs_tensorrt = pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is None or not torch.cuda.is_available(),
    reason="needs TensorRT and a CUDA GPU",
)


@pytest.mark.tensorrt
@needs_tensorrt
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

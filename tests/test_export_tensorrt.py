"""TensorRT exporter: builder logic against a fake ``tensorrt`` module, the install hint, a real-GPU test."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from export_helpers import NAMES, tiny_classifier, write_images
from fake_tensorrt import FakeTensorRT, HostTensorRTRunner, install
from tailorgen.cli import main
from tailorgen.errors import TailorgenError
from tailorgen.exporters import tensorrt as trt_exporter
from tailorgen.exporters.base import ValidationSettings
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.exporters.onnx import OnnxExporter, OnnxOptions
from tailorgen.exporters.tensorrt import TensorRTExporter, TensorRTOptions
from tailorgen.exporters.tensorrt_build import BatchProfile, build_engine, engine_file_name
from tailorgen.predict.onnx_backend import OnnxPredictor
from tailorgen.predict.tensorrt_backend import TensorRTPredictor, TensorRTRunner
from tailorgen.predict.torch_backend import TorchPredictor

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


def test_a_timing_cache_tensorrt_cannot_read_is_rebuilt_with_a_warning(tmp_path, caplog):
    """Real TensorRT returns None from create_timing_cache for a corrupt cache: no TypeError, a new cache."""
    (tmp_path / "timing.cache").write_bytes(b"corrupt")
    trt = FakeTensorRT(foreign_cache=b"corrupt", cache_refusal="none")
    with caplog.at_level("WARNING", logger="tailorgen.exporters.tensorrt_build"):
        assert not _build(trt, tmp_path).timing_cache_reused
    assert "TensorRT refused the timing cache" in caplog.text
    assert str(tmp_path / "timing.cache") in caplog.text
    assert (tmp_path / "timing.cache").read_bytes() == b"+timings"


def test_the_fake_is_a_module_that_find_spec_and_torch_dynamo_accept(tmp_path):
    """With the fake in sys.modules, find_spec answers and torch._dynamo (which calls find_spec
    on its first import) imports: a fresh interpreter, since this one may have imported it already."""
    import importlib.util
    import subprocess
    from pathlib import Path

    trt = FakeTensorRT()
    assert trt.__name__ == "tensorrt"
    assert importlib.util.module_from_spec(trt.__spec__) is trt
    script = (
        "import sys, importlib.util\n"
        "from fake_tensorrt import FakeTensorRT\n"
        "sys.modules['tensorrt'] = FakeTensorRT()\n"
        "assert importlib.util.find_spec('tensorrt').origin.endswith('fake_tensorrt.py')\n"
        "import torch._dynamo\n"
        "print('imported', 'torch._dynamo' in sys.modules)\n"
    )
    tests = Path(__file__).parent
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tests, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported True"


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


def test_exporter_builds_validates_and_writes_metadata(demo_models, tmp_path, monkeypatch):
    """The exporter with the fake TensorRT: the runner runs the built engine through the fake runtime."""
    trt = install(monkeypatch)
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


def test_device_n_builds_and_runs_on_device_n(demo_models, tmp_path, monkeypatch):
    """TensorRT builds and runs on the current CUDA device: every call happens with device 1 current."""
    trt = install(monkeypatch)
    names = []
    monkeypatch.setattr(trt_exporter, "gpu_name", lambda device: names.append(device) or "NVIDIA H200")
    TensorRTExporter(TensorRTOptions(opt_batch=4, max_batch=8, device=1)).export(
        tiny_classifier(demo_models), tmp_path
    )
    assert names == [1]
    assert {"build", "deserialize", "execute"} == {what for what, _ in trt.devices}
    assert all(device == 1 for _, device in trt.devices), trt.devices
    assert trt.current_device == 0  # switched back afterwards


def _judged_exporter(demo_models, tmp_path, budget, **options):
    """A TensorRT exporter with an evaluation split whose targets PyTorch ranks perfectly (mAP 100)."""
    classifier = tiny_classifier(demo_models)
    images = write_images(tmp_path / "eval", count=16, seed=1)
    scores = TorchPredictor(classifier).predict(images)
    exporter = TensorRTExporter(TensorRTOptions(opt_batch=4, max_batch=8, **options))
    exporter.validation = ValidationSettings(
        map_budget=budget,
        accuracy_images=images,
        accuracy_targets=(scores > np.median(scores, axis=0)).astype(int).tolist(),
    )
    return classifier, exporter


def test_the_engine_is_judged_by_map_like_every_onnx_variant(demo_models, tmp_path, monkeypatch):
    trt = install(monkeypatch)
    classifier, exporter = _judged_exporter(demo_models, tmp_path, budget=100.0, precision="fp16")
    engine = exporter.export(classifier, tmp_path / "export")
    by_name = {r.artefact: r for r in exporter.reports}
    assert set(by_name) == {"model.onnx", "model.fp16.onnx", engine.name}
    assert engine.name.startswith("model.fp16.")
    assert by_name[engine.name].reference_map == pytest.approx(100.0)
    assert by_name[engine.name].map_loss == pytest.approx(100.0 - by_name[engine.name].map)
    assert by_name[engine.name].refused is None
    assert ("execute", (8, 3, 64, 64)) in trt.calls  # the mAP run went through the engine


def _ranked_backwards(monkeypatch, artefact):
    """The mAP judge sees ``artefact`` (a file name, or its ending) rank every image backwards."""
    from tailorgen.exporters.base import ValidatingExporter

    judged = ValidatingExporter._judged

    def backwards(self, report, predictor, **kw):
        if report.artefact.endswith(artefact):
            predictor.probabilities = lambda images, p=predictor.probabilities: 1 - p(images)
        return judged(self, report, predictor, **kw)

    monkeypatch.setattr(ValidatingExporter, "_judged", backwards)


def test_a_refused_engine_is_not_written(demo_models, tmp_path, monkeypatch, caplog):
    install(monkeypatch)
    classifier, exporter = _judged_exporter(demo_models, tmp_path, budget=1.0)
    _ranked_backwards(monkeypatch, ".engine")
    (tmp_path / "export").mkdir()
    older = tmp_path / "export" / "model.nvidia-h200.trt11.4.0.106.engine"
    older.write_bytes(b"from an older export")
    with caplog.at_level("WARNING", logger="tailorgen.exporters.accuracy"):
        engine = exporter.export(classifier, tmp_path / "export")
    report = exporter.reports[-1]
    assert report.artefact == engine.name == older.name
    assert report.refused
    assert report.map_loss > 1.0
    assert f"{engine.name} refused: it loses {report.map_loss:.2f} mAP" in caplog.text
    assert not engine.exists()
    assert not (tmp_path / "export" / (engine.name + ".json")).exists()


def test_a_refused_fp16_source_builds_from_the_fp32_model_and_says_so(
    demo_models, tmp_path, monkeypatch, caplog
):
    trt = install(monkeypatch)
    classifier, exporter = _judged_exporter(demo_models, tmp_path, budget=1.0, precision="fp16")
    _ranked_backwards(monkeypatch, "model.fp16.onnx")
    with caplog.at_level("WARNING"):
        engine = exporter.export(classifier, tmp_path / "export")
    lines = [r.getMessage() for r in caplog.records if r.name == "tailorgen.exporters.tensorrt"]
    assert lines == [
        "export: tensorrt builds from model.onnx (fp32): its fp16 source was refused by the mAP budget"
    ]
    assert engine.name.startswith("model.nvidia-h200.")
    assert engine.is_file()
    assert [c for c in trt.calls if c[0] == "parse"] == [("parse", str(tmp_path / "export" / "model.onnx"))]
    assert not (tmp_path / "export" / "model.fp16.onnx").exists()
    assert {r.artefact: bool(r.refused) for r in exporter.reports} == {
        "model.onnx": False,
        "model.fp16.onnx": True,
        engine.name: False,
    }
    assert exporter.reports[-1].atol == 1e-4  # an fp32 engine: checked at the fp32 tolerance


def test_an_older_models_onnx_files_are_replaced_not_built_from(demo_models, tmp_path, monkeypatch):
    """A model.onnx of another classifier fails validation against this one: it is exported afresh,
    and the variants of the older model go with it (they would outlive their model)."""
    trt = install(monkeypatch)
    OnnxExporter(OnnxOptions(int8=True)).export(tiny_classifier(demo_models, seed=1), tmp_path)
    older = (tmp_path / "model.onnx").read_bytes()
    exporter = TensorRTExporter(TensorRTOptions(opt_batch=4, max_batch=8))
    engine = exporter.export(tiny_classifier(demo_models), tmp_path)
    assert (tmp_path / "model.onnx").read_bytes() != older
    assert not (tmp_path / "model.int8.onnx").exists()
    assert [r.artefact for r in exporter.reports] == ["model.onnx", engine.name]
    assert [c for c in trt.calls if c[0] == "parse"] == [("parse", str(tmp_path / "model.onnx"))]


def test_a_broken_engine_fails_export_validation(demo_models, tmp_path, monkeypatch):
    """An engine that computes something else never lands (validation compares with onnxruntime)."""
    from tailorgen.exporters.validation import ExportValidationError

    classifier = tiny_classifier(demo_models)
    OnnxExporter().export(tiny_classifier(demo_models, seed=1), tmp_path / "other")
    trt = install(monkeypatch)
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
    install(monkeypatch, trt)
    images = np.random.default_rng(count).standard_normal((count, 3, 64, 64), dtype=np.float32)
    trt.calls.clear()
    got = HostTensorRTRunner(out / "model.engine")(images)
    want = OnnxPredictor(out / "model.onnx").probabilities(images)
    np.testing.assert_allclose(got, want, atol=1e-6)
    batches = [shape[0] for kind, shape in (c for c in trt.calls if c[0] == "execute")]
    assert all(2 <= b <= 4 for b in batches)
    assert sum(min(b, count - 4 * i) for i, b in enumerate(batches)) == count


def test_predictor_reads_images_through_the_engine(engine, monkeypatch):
    out, trt = engine
    install(monkeypatch, trt)
    predictor = TensorRTPredictor(out / "model.engine")
    assert predictor.label_names == NAMES
    paths = write_images(out / "images", count=5)
    np.testing.assert_allclose(
        predictor.predict(paths, batch_size=5), OnnxPredictor(out / "model.onnx").predict(paths), atol=1e-6
    )
    assert predictor.runner(np.zeros((0, 3, 64, 64), np.float32)).shape == (0, len(NAMES))
    from tailorgen.predict import load_predictor

    trt.devices.clear()
    on_second = load_predictor(out / "model.engine", device="cuda:1")
    on_second.predict(paths[:2])
    assert on_second.runner.index == 1
    assert {device for _, device in trt.devices} == {1}
    with pytest.raises(TailorgenError, match="runs on a CUDA device, not 'cpu'"):
        load_predictor(out / "model.engine", device="cpu")


def test_runner_errors_name_what_failed(engine, monkeypatch, tmp_path):
    out, trt = engine
    install(monkeypatch, trt)
    runner = HostTensorRTRunner(out / "model.engine")
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
        HostTensorRTRunner(foreign)
    if not torch.cuda.is_available():  # the public runner takes CUDA memory only
        with pytest.raises(TailorgenError, match="needs a CUDA GPU and none is visible"):
            TensorRTRunner(out / "model.engine")
    with pytest.raises(TailorgenError, match="TensorRT device 'cpu' is not a CUDA device index"):
        TensorRTRunner(out / "model.engine", device="cpu")
    for flag, value, message in [
        ("fail_context", True, "cannot create an execution context"),
        ("extra_outputs", 1, "a tailorgen classifier has one input and one output"),
        ("io_dtype", "INT8", "tensor images has data type INT8"),
    ]:
        broken = FakeTensorRT()
        setattr(broken, flag, value)
        install(monkeypatch, broken)
        with pytest.raises(TailorgenError, match=message):
            HostTensorRTRunner(out / "model.engine")


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

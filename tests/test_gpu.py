"""On a CUDA machine: onnxruntime's CUDA provider, the torch predictor in fp16/bf16, real TensorRT.

Marked ``gpu`` / ``tensorrt``: elsewhere they skip with the reason (tests/conftest.py). Run them
with ``bash benchmarks/gpu_check.sh``, which also runs benchmarks/gpu_smoke.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from export_helpers import tiny_classifier, write_images
from tailorgen.exporters.onnx import OnnxExporter
from tailorgen.predict.onnx_backend import OnnxPredictor
from tailorgen.predict.torch_backend import TorchPredictor


@pytest.fixture(scope="module")
def exported(demo_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-export")
    classifier = tiny_classifier(demo_models)
    OnnxExporter().export(classifier, out)
    return classifier, out, write_images(out / "images", count=5)


@pytest.mark.gpu
def test_onnxruntime_cuda_provider_matches_cpu(exported):
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime has no CUDA provider here (pip install 'tailorgen[onnx-gpu]')")
    _, out, images = exported
    on_gpu = OnnxPredictor(out / "model.onnx", provider="cuda")
    assert on_gpu.session.get_providers()[0] == "CUDAExecutionProvider"
    want = OnnxPredictor(out / "model.onnx").predict(images)
    np.testing.assert_allclose(on_gpu.predict(images), want, atol=1e-4, rtol=1e-3)


@pytest.mark.gpu
@pytest.mark.parametrize(("precision", "atol"), [("float16", 5e-3), ("bfloat16", 3e-2)])
def test_torch_predictor_in_half_precision_on_cuda(exported, precision, atol):
    classifier, _, images = exported
    want = TorchPredictor(classifier, "cpu").predict(images)
    got = TorchPredictor(classifier, "cuda", autocast=precision).predict(images)
    np.testing.assert_allclose(got, want, atol=atol)
    assert (got.argmax(axis=1) == want.argmax(axis=1)).mean() >= 0.8


def test_torch_predictor_autocasts_on_cpu_too(exported):
    """bf16 autocast is a CPU feature as well: the predictor's precision switch works without a GPU."""
    classifier, _, images = exported
    want = TorchPredictor(classifier, "cpu").predict(images)
    got = TorchPredictor(classifier, "cpu", autocast="bfloat16").predict(images)
    assert not np.array_equal(got, want)  # really ran in bf16
    np.testing.assert_allclose(got, want, atol=3e-2)


@pytest.mark.tensorrt
def test_real_tensorrt_runner_pads_and_splits(exported, tmp_path):
    """The runner on real TensorRT with a 2..4 profile: 1 image (padded) and 9 (split 4+4+1, padded)."""
    from tailorgen.exporters.tensorrt import TensorRTExporter, TensorRTOptions
    from tailorgen.predict.tensorrt_backend import TensorRTRunner

    classifier, _, _ = exported
    engine = TensorRTExporter(TensorRTOptions(min_batch=2, opt_batch=3, max_batch=4)).export(
        classifier, tmp_path
    )
    runner = TensorRTRunner(engine)
    reference = OnnxPredictor(tmp_path / "model.onnx")
    for count in (1, 9):
        images = np.random.default_rng(count).standard_normal((count, 3, 64, 64), dtype=np.float32)
        np.testing.assert_allclose(runner(images), reference.probabilities(images), atol=1e-4, rtol=1e-3)

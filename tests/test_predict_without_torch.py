"""The ONNX backend predicts without torch: numpy/PIL preprocessing equal to the classifier's own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from export_helpers import NAMES, write_images
from PIL import Image
from tailorgen.classifier.transforms import RESIZE_MODES, eval_transform
from tailorgen.exporters.onnx import OnnxExporter
from tailorgen.exporters.onnx_pixels import sample_pictures
from tailorgen.predict import load_predictor
from tailorgen.predict.preprocessing import RESIZE_MODES as NUMPY_RESIZE_MODES
from tailorgen.predict.preprocessing import preprocess_images

#: (height, width): landscape, portrait, square at the model size, odd, tall and thin
SIZES = [(48, 80), (90, 60), (64, 64), (33, 47), (240, 320), (200, 31)]

#: a finder that makes ``import torch`` (and torchvision) fail, as if only the onnx extra were installed
NO_TORCH = """
import importlib.abc, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"{name} is not installed here")
        return None

sys.meta_path.insert(0, NoTorch())
"""


@pytest.mark.parametrize("resize", RESIZE_MODES)
@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
def test_numpy_preprocessing_is_the_classifier_eval_transform(resize, interpolation):
    preprocess = {
        "image_size": 64,
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
        "interpolation": interpolation,
        "resize": resize,
    }
    pictures = [Image.fromarray(p) for p in sample_pictures(SIZES, seed=4)]
    pictures.append(pictures[0].convert("L"))  # greyscale: converted to RGB like the classifier does
    want = np.stack([eval_transform(preprocess, 64)(p).numpy() for p in pictures])
    got = preprocess_images(pictures, preprocess, 64)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    assert NUMPY_RESIZE_MODES == RESIZE_MODES


@pytest.fixture(scope="module")
def run_dir(demo_models, tmp_path_factory):
    """A trained-and-exported run whose classifier centre-crops (the numpy path's other geometry)."""
    import torch
    from tailorgen.classifier import Classifier

    torch.manual_seed(0)
    crop = Classifier.build(
        f"local-dir:{demo_models['clip-rn']}", NAMES, n_ctx=4, logit_scale=1.0, resize="crop"
    )
    run = tmp_path_factory.mktemp("run")
    crop.save_pretrained(run / "classifier")
    OnnxExporter().export(crop, run / "export")
    return run


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_load_predictor_onnx_predicts_without_torch(run_dir, tmp_path):
    images = write_images(tmp_path / "images", count=3)
    out = _python(
        f"""
        import json, sys
        import tailorgen
        predictor = tailorgen.load_predictor({str(run_dir)!r}, backend="onnx")
        print(json.dumps(predictor.predict({images!r}).tolist()))
        print("torch" in sys.modules)
        """
    )
    rows, imported = out.splitlines()
    assert imported == "False"
    want = load_predictor(run_dir, backend="torch").predict(images)
    np.testing.assert_allclose(np.array(json.loads(rows)), want, atol=1e-4)  # torch and onnx agree (fp32)


def test_predict_cli_onnx_runs_without_torch(run_dir, tmp_path):
    images = write_images(tmp_path / "images", count=2)
    out = _python(
        f"""
        import sys
        from tailorgen.cli import main
        main(["predict", {str(run_dir)!r}, *{images!r}, "--backend", "onnx", "--top-k", "2"])
        print("torch" in sys.modules)
        """
    )
    lines = out.splitlines()
    assert lines[-1] == "False"
    assert [line.split(":")[0] for line in lines[:-1]] == images
    assert all(line.split(": ")[1].split(" (")[0] in NAMES for line in lines[:-1])

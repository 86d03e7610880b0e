"""The predictor as a pipeline: callable on paths, PIL images, arrays and tensors; labels with scores."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from export_helpers import NAMES, write_images, write_run
from PIL import Image
from tailorgen.errors import TailorgenError
from tailorgen.predict import load_predictor
from tailorgen.predict.inputs import as_images


@pytest.fixture(scope="module")
def run_dir(demo_models, tmp_path_factory):
    """A run directory as the train and export stages leave it."""
    return write_run(demo_models, tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return write_images(tmp_path_factory.mktemp("images"), count=1)[0]


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_every_input_kind_gives_the_same_scores(run_dir, path, backend):
    predictor = load_predictor(run_dir, backend, device="cpu")
    pil = Image.open(path).convert("RGB")
    pixels = np.asarray(pil)
    want = predictor.predict([path])
    assert want.shape == (1, len(NAMES))
    tensor = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255  # what ToTensor gives
    for same in (path, pil, pixels, pixels / 255.0, tensor, [pil], (pixels,), pixels[None], tensor[None]):
        np.testing.assert_allclose(predictor.predict(same), want, atol=1e-5)
    gray = np.asarray(pil.convert("L"))
    assert predictor.predict(gray).shape == (1, len(NAMES))


def test_call_returns_labels_and_scores_per_image(run_dir, path):
    predictor = load_predictor(run_dir, "onnx")
    one = predictor(path, top_k=3)
    assert [set(item) for item in one] == [{"label", "score"}] * 3
    scores = [item["score"] for item in one]
    assert scores == sorted(scores, reverse=True)
    row = predictor.predict(path)[0]
    assert one[0]["label"] == NAMES[int(row.argmax())]
    assert one[0]["score"] == pytest.approx(float(row.max()))
    pil = Image.open(path)
    many = predictor([path, pil], top_k=None)
    assert len(many) == 2
    assert all(len(labels) == len(NAMES) for labels in many)
    assert [x["label"] for x in many[0]] == [x["label"] for x in many[1]]
    assert len(predictor(np.stack([np.asarray(pil.convert("RGB"))] * 3))) == 3  # a batch array: one list each
    assert predictor(path, top_k=None, threshold=1.01) == []


def test_repr_says_backend_labels_and_source(run_dir):
    text = repr(load_predictor(run_dir, "onnx"))
    assert text.startswith("OnnxPredictor(backend='onnx', labels=7 [cat, dog, car, tree, ... (+3)]")
    assert "model.onnx" in text
    assert "provider='cpu'" in text
    assert "device='cpu'" in repr(load_predictor(run_dir, "torch", device="cpu"))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.full((8, 8, 3), 2.0), r"float pixels must lie in \[0, 1\], got 2\.\.2"),
        (
            np.zeros((8, 8, 7), dtype=np.uint8),
            r"cannot tell the colour channels of an image of shape \(8, 8, 7\)",
        ),
        (np.zeros((2, 2, 8, 8, 3), dtype=np.uint8), "2, 3 or 4 .batch. dimensions"),
        (np.full((8, 8), 300, dtype=np.int32), "integer pixels must lie in 0-255"),
        (42, "cannot read an image from a int"),
        ("/", "image / is a directory"),
    ],
)
def test_bad_inputs_get_one_line_errors(bad, message):
    with pytest.raises(TailorgenError, match=message) as caught:
        as_images(bad)
    assert "\n" not in str(caught.value)


def test_predictor_is_exported_from_the_package():
    import tailorgen

    assert tailorgen.Predictor is tailorgen.predict.Predictor
    assert "Predictor" in tailorgen.__all__


def test_reading_inputs_never_imports_torch(tmp_path):
    """The ONNX path runs without torch: arrays, PIL images and paths are read without it."""
    script = (
        "import sys, numpy as np\n"
        "from PIL import Image\n"
        "from tailorgen.predict.inputs import as_images\n"
        f"Image.new('RGB', (4, 4)).save({str(tmp_path / 'x.png')!r})\n"
        f"images, _ = as_images([np.zeros((4, 4, 3), np.uint8), Image.new('L', (4, 4)), {str(tmp_path / 'x.png')!r}])\n"
        "assert [i.mode for i in images] == ['RGB'] * 3\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr

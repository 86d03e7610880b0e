"""The classifier's image geometry: the whole image by default (DualCoOp), the crop as an option."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from tailorgen.classifier import Classifier
from tailorgen.classifier.augment import train_transform
from tailorgen.classifier.transforms import eval_transform
from tailorgen.errors import TailorgenError
from tailorgen.exporters.metadata import ModelMetadata, read_onnx_metadata
from tailorgen.exporters.onnx import OnnxExporter
from tailorgen.predict import load_predictor

NAMES = ["cat", "dog"]


def _edge_image() -> Image.Image:
    """A 4:3 picture whose left sixteenth is red and the rest blue: the centre crop cuts the red off."""
    pixels = np.zeros((60, 80, 3), dtype=np.uint8)
    pixels[:, :5, 0] = 255
    pixels[:, 5:, 2] = 255
    return Image.fromarray(pixels)


def _red_columns(x: torch.Tensor) -> int:
    """Columns of a (3, S, S) CLIP-normalised image that are mostly red."""
    return int((x[0] > x[2]).float().mean(dim=0).gt(0.5).sum())


def _build(demo_models, **kw) -> Classifier:
    torch.manual_seed(0)
    return Classifier.build(f"local-dir:{demo_models['clip-rn']}", NAMES, n_ctx=4, logit_scale=1.0, **kw)


def test_new_classifiers_resize_the_whole_image_everywhere(demo_models, tmp_path):
    model = _build(demo_models)
    assert model.preprocess["resize"] == "whole"
    size = model.image_size
    # eval and train transforms keep the red edge: 5/80 of the width, about size/16 columns
    assert _red_columns(model.transform()(_edge_image())) == pytest.approx(size / 16, abs=1)
    augment = train_transform(model.preprocess, size, randaugment=False, cutout=0)
    assert _red_columns(augment(_edge_image())) == pytest.approx(size / 16, abs=1)
    # saved with the classifier, carried into the ONNX metadata; both predictors follow it
    model.save_pretrained(tmp_path / "classifier")
    OnnxExporter().export(model, tmp_path / "export")
    assert read_onnx_metadata(tmp_path / "export" / "model.onnx").preprocess["resize"] == "whole"
    for predictor in (
        load_predictor(tmp_path / "classifier", "torch"),
        load_predictor(tmp_path / "export" / "model.onnx"),
    ):
        batch = predictor.preprocess([_edge_image()])
        assert batch.shape == (1, 3, size, size)
        assert _red_columns(torch.from_numpy(batch[0])) == pytest.approx(size / 16, abs=1)


def test_the_crop_is_an_option_and_old_configs_keep_it(demo_models):
    model = _build(demo_models, resize="crop")
    assert model.preprocess["resize"] == "crop"
    assert _red_columns(model.transform()(_edge_image())) == 0
    legacy = {k: v for k, v in model.preprocess.items() if k != "resize"}  # saved before the setting
    assert _red_columns(eval_transform(legacy, model.image_size)(_edge_image())) == 0
    meta = ModelMetadata.from_classifier(model)
    assert meta.preprocess["resize"] == "crop"
    with pytest.raises(TailorgenError, match="unknown classifier resize 'stretch'"):
        _build(demo_models, resize="stretch")

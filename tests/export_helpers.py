"""Helpers of the export/predict tests: a tiny classifier whose probabilities do not saturate."""

from __future__ import annotations

import numpy as np
import torch
from tailorgen.classifier import Classifier

NAMES = ["cat", "dog", "car", "tree", "sky", "boat", "traffic light"]


def tiny_classifier(demo_models, names=NAMES, seed: int = 0) -> Classifier:
    """The tiny RN CLIP classifier; logit_scale 1 keeps probabilities away from 0/1, where they would
    hide export errors (a random model at the default scale 20 outputs exact 0s and 1s)."""
    torch.manual_seed(seed)
    return Classifier.build(f"local-dir:{demo_models['clip-rn']}", names, n_ctx=4, logit_scale=1.0)


def write_images(directory, count: int = 3, seed: int = 0) -> list[str]:
    from PIL import Image

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = directory / f"image{i}.png"
        Image.fromarray(rng.integers(0, 256, (48 + 8 * i, 80, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def write_run(demo_models, run, classifier: Classifier | None = None):
    """A run directory as the train and export stages leave it: ``classifier/`` and ``export/model.onnx``."""
    from tailorgen.exporters.onnx import OnnxExporter

    classifier = classifier or tiny_classifier(demo_models)
    classifier.save_pretrained(run / "classifier")
    OnnxExporter().export(Classifier.from_pretrained(run / "classifier"), run / "export")
    return run

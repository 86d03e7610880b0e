"""Inference on trained or exported classifiers: one :class:`Predictor` interface, several backends.

>>> from tailorgen.predict import load_predictor
>>> predictor = load_predictor("runs/demo", backend="onnx")
>>> predictor("cat.jpg", top_k=3)  # [{"label": ..., "score": ...}] best first; a list in, a list per image out
>>> probabilities = predictor.predict(["cat.jpg"])  # the raw (1, C) array, columns = predictor.label_names
"""

from __future__ import annotations

from tailorgen.predict.base import BACKENDS, LabelScore, Predictor, labels_json, top_labels
from tailorgen.predict.loading import load_predictor

__all__ = ["BACKENDS", "LabelScore", "Predictor", "labels_json", "load_predictor", "top_labels"]

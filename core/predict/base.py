"""The predictor interface: the same preprocessing and the same outputs whatever runs the model."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.predict.images import load_image

__all__ = ["BACKENDS", "LabelScore", "Predictor", "top_labels"]

BACKENDS: tuple[str, ...] = ("torch", "onnx", "tensorrt")


class Predictor(abc.ABC):
    """Images in, per-label probabilities out; subclasses only implement :meth:`probabilities`."""

    backend: ClassVar[str]

    def __init__(self, metadata: ModelMetadata) -> None:
        self.metadata = metadata
        self._transform: Any = None

    @property
    def label_names(self) -> list[str]:
        return self.metadata.label_names

    @abc.abstractmethod
    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(B, 3, S, S) float32 normalised images -> (B, C) float32 probabilities."""

    def preprocess(self, images: Sequence[Any]) -> np.ndarray:
        """PIL images -> the normalised batch the model takes (the classifier's own eval transform)."""
        if self._transform is None:
            from tailorgen.classifier.transforms import eval_transform

            self._transform = eval_transform(self.metadata.preprocess, self.metadata.image_size)
        return np.stack([self._transform(image).numpy() for image in images]).astype(np.float32, copy=False)

    def predict_images(self, images: Sequence[Any]) -> np.ndarray:
        """(B, C) probabilities of one batch of PIL images."""
        return self.probabilities(self.preprocess(images))

    def predict(self, images: Sequence[Any], batch_size: int = 16) -> np.ndarray:
        """(N, C) probabilities for PIL images or image paths (a bad file raises an error naming it)."""
        out = []
        for start in range(0, len(images), batch_size):
            chunk = [
                load_image(x) if isinstance(x, str | Path) else x for x in images[start : start + batch_size]
            ]
            out.append(self.predict_images(chunk))
        return np.concatenate(out) if out else np.zeros((0, len(self.label_names)), dtype=np.float32)


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float


def top_labels(
    probabilities: np.ndarray,
    label_names: Sequence[str],
    top_k: int | None = 5,
    threshold: float | None = None,
) -> list[LabelScore]:
    """The highest-scoring labels of one image: at most ``top_k`` (all if None), each >= ``threshold``."""
    order = np.argsort(-probabilities, kind="stable")[: top_k or None]
    return [
        LabelScore(label_names[i], float(probabilities[i]))
        for i in order
        if threshold is None or probabilities[i] >= threshold
    ]

"""The predictor interface: the same preprocessing and the same outputs whatever runs the model."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from tailorgen.errors import TailorgenError
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.predict.inputs import as_images

__all__ = ["BACKENDS", "LabelScore", "Predictor", "labels_json", "top_labels"]

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

    def predict(self, images: Any, batch_size: int = 16) -> np.ndarray:
        """(N, C) probabilities, columns in :attr:`label_names` order: the raw scores behind ``__call__``.

        ``images``: a path, a PIL image, a NumPy array, a torch tensor or a list of them (see
        :mod:`tailorgen.predict.inputs`); one image gives one row. A bad file raises an error naming it.
        """
        out = []
        paths_or_images = images if isinstance(images, list | tuple) else [images]
        for start in range(0, len(paths_or_images), batch_size):
            chunk, _ = as_images(list(paths_or_images[start : start + batch_size]))
            out.append(self.predict_images(chunk))
        return np.concatenate(out) if out else np.zeros((0, len(self.label_names)), dtype=np.float32)

    @property
    def thresholds(self) -> np.ndarray | None:
        """Per-label thresholds chosen on validation data, in :attr:`label_names` order (None if the
        model has none: trained before they existed, or without validation images)."""
        chosen = self.metadata.thresholds
        return None if chosen is None else np.array([chosen[n] for n in self.label_names], dtype=np.float32)

    def resolve_threshold(self, threshold: float | str | None) -> float | np.ndarray | None:
        """A ``threshold`` argument as :func:`top_labels` takes it: ``"calibrated"`` -> :attr:`thresholds`."""
        if threshold != "calibrated":
            return None if threshold is None else float(threshold)
        if self.thresholds is None:
            raise TailorgenError(
                f"{self!r} has no calibrated thresholds",
                "retrain it with a validation split (the train stage saves classifier/thresholds.json), "
                "or pass a number",
            )
        return self.thresholds

    def __call__(
        self,
        images: Any,
        *,
        top_k: int | None = 5,
        threshold: float | str | None = None,
        batch_size: int = 16,
    ) -> list[dict[str, Any]] | list[list[dict[str, Any]]]:
        """``[{"label", "score"}]`` best first for one image; a list of those for a list or a batch.

        At most ``top_k`` labels (None or 0: all), each scoring at least ``threshold``: a probability,
        or ``"calibrated"`` for each label's own threshold (:attr:`thresholds`).
        """
        cut = self.resolve_threshold(threshold)
        images_list, single = as_images(images)
        rows = self.predict(images_list, batch_size=batch_size)
        results = [
            [{"label": s.label, "score": s.score} for s in top_labels(row, self.label_names, top_k, cut)]
            for row in rows
        ]
        return results[0] if single else results

    def __repr__(self) -> str:
        names = self.label_names
        shown = ", ".join(names[:4]) + (f", ... (+{len(names) - 4})" if len(names) > 4 else "")
        return (
            f"{type(self).__name__}(backend={self.backend!r}, labels={len(names)} [{shown}], "
            f"image_size={self.metadata.image_size}, {self._describe()})"
        )

    def _describe(self) -> str:
        """Where the model came from and where it runs, for ``repr`` (subclasses say more)."""
        where = [
            f"{key}={getattr(self, key)!r}" for key in ("path", "device", "provider") if hasattr(self, key)
        ]
        if self.metadata.thresholds is not None:
            where.append("thresholds='calibrated'")
        return ", ".join(where) or f"tailorgen {self.metadata.version}"


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float


def top_labels(
    probabilities: np.ndarray,
    label_names: Sequence[str],
    top_k: int | None = 5,
    threshold: float | np.ndarray | None = None,
) -> list[LabelScore]:
    """The highest-scoring labels of one image: at most ``top_k`` (all if None), each >= ``threshold``
    (one probability, or one per label in ``label_names`` order)."""
    cut = np.broadcast_to(-np.inf if threshold is None else np.asarray(threshold), probabilities.shape)
    order = [i for i in np.argsort(-probabilities, kind="stable") if probabilities[i] >= cut[i]]
    return [LabelScore(label_names[i], float(probabilities[i])) for i in order[: top_k or None]]


def labels_json(
    probabilities: np.ndarray,
    label_names: Sequence[str],
    top_k: int | None = 5,
    threshold: float | np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """One image's :func:`top_labels` as ``tailorgen predict --json`` prints them (scores to 6 places)."""
    return [
        {"label": s.label, "score": round(s.score, 6)}
        for s in top_labels(probabilities, label_names, top_k, threshold)
    ]

"""Per-label decision thresholds chosen on validation data, saved with the classifier.

A trained classifier's probabilities need not centre on 0.5 (the tiny demo's sit between 0.4 and
0.7), so one ``--threshold`` for every label means little. For each label the train stage picks the
threshold that maximises that label's F1 on validation images: the candidates are the midpoints
between consecutive distinct scores, and among equal F1s the highest threshold wins (fewer false
positives). A label without a positive or without a negative image there gets the median of the
others' thresholds. They are saved as ``thresholds.json`` beside ``config.json``, load with the
classifier, travel in the ONNX/TensorRT metadata, and are what ``threshold="calibrated"`` uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError

__all__ = [
    "THRESHOLDS_FILE",
    "ThresholdsMixin",
    "choose_thresholds",
    "fit_thresholds",
    "merge_choices",
    "read_thresholds",
]

THRESHOLDS_FILE = "thresholds.json"
_HOW = "max F1 per label on validation images; labels without both classes there: the median"


def _best_threshold(scores: np.ndarray, positive: np.ndarray) -> tuple[float, float] | None:
    """(threshold, F1) maximising F1 of ``scores >= threshold``; None without both classes."""
    n_pos = int(positive.sum())
    if n_pos == 0 or n_pos == len(positive):
        return None
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], np.cumsum(positive[order])
    predicted = np.arange(1, len(ranked) + 1)
    f1 = 2 * hits / (predicted + n_pos)
    cut = np.append(ranked[1:] < ranked[:-1], True)  # only between distinct scores
    best = max(np.flatnonzero(cut), key=lambda i: (f1[i], -i))
    threshold = (ranked[best] + ranked[best + 1]) / 2 if best + 1 < len(ranked) else ranked[best]
    return float(threshold), float(f1[best])


def choose_thresholds(
    scores: np.ndarray, targets: np.ndarray, label_names: list[str], source: str
) -> dict[str, Any]:
    """The ``thresholds.json`` content for (N, C) probabilities and 0/1 targets of ``label_names``."""
    labels: dict[str, dict[str, Any]] = {}
    for column, name in enumerate(label_names):
        chosen = _best_threshold(scores[:, column], targets[:, column] > 0)
        positives = int((targets[:, column] > 0).sum())
        labels[name] = {"positives": positives, "images": len(scores), "source": source}
        if chosen is not None:
            labels[name] |= {"threshold": round(chosen[0], 6), "f1": round(chosen[1], 4)}
    return {"method": _HOW, "labels": labels}


def merge_choices(parts: list[dict[str, Any]], label_names: list[str]) -> dict[str, Any] | None:
    """One ``thresholds.json`` from choices on several data sets; None when no label got a threshold."""
    labels: dict[str, dict[str, Any]] = {}
    for part in parts:
        for name, entry in part["labels"].items():
            if "threshold" in entry or name not in labels:
                labels[name] = entry
    chosen = [e["threshold"] for e in labels.values() if "threshold" in e]
    if not chosen:
        return None
    fallback = round(float(np.median(chosen)), 6)
    thresholds = {n: labels.get(n, {}).get("threshold", fallback) for n in label_names}
    return {"method": _HOW, "thresholds": thresholds, "labels": labels}


def fit_thresholds(
    model: Any, sets: list[tuple[str, Any, list[str]]], *, batch_size: int
) -> dict[str, Any] | None:
    """Score each ``(source, data set, label names)`` with ``model`` and choose every label's threshold
    (``thresholds.json`` content; None when no label has both classes in any set)."""
    from tailorgen.classifier.inference import predict

    parts = []
    for source, data, names in sets:
        if len(data) and names:
            scores = predict(model, data, names, batch_size=batch_size).numpy()
            parts.append(choose_thresholds(scores, data.targets.numpy(), names, source))
    return merge_choices(parts, list(model.label_names))


def read_thresholds(path: Path, label_names: list[str]) -> dict[str, float]:
    """The per-label thresholds saved at ``path``, checked against the classifier's labels."""
    try:
        thresholds = json.loads(path.read_text(encoding="utf-8"))["thresholds"]
        values = {str(k): float(v) for k, v in thresholds.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TailorgenError(
            f"cannot read thresholds {path}: {exc}", "delete it, or rerun the train stage to write it again"
        ) from None
    bad = sorted(set(values) ^ set(label_names)) or [k for k, v in values.items() if not 0 <= v <= 1]
    if bad:
        raise TailorgenError(
            f"thresholds {path} do not fit the classifier (labels {', '.join(bad[:3])})",
            "delete it, or rerun the train stage to write it again",
        )
    return values


def _hub_thresholds_file(repo_id: str, options: dict[str, Any]) -> Path | None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    keys = ("revision", "cache_dir", "token", "local_files_only")
    try:
        return Path(
            hf_hub_download(repo_id, THRESHOLDS_FILE, **{k: options[k] for k in keys if k in options})
        )
    except (EntryNotFoundError, LocalEntryNotFoundError):  # an older or uncalibrated classifier
        return None


class ThresholdsMixin:
    """``thresholds`` (label -> probability, or None) saved and loaded with the classifier."""

    thresholds: dict[str, float] | None = None
    #: what chose them (``thresholds.json`` beyond the numbers), written by save_pretrained
    thresholds_report: dict[str, Any] | None = None

    def save_pretrained(self, save_directory: str | Path, **kwargs: Any) -> Any:
        from tailorgen.io import atomic_write_json

        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        if self.thresholds:  # first: the model card lists the files the folder holds
            report = {**(self.thresholds_report or {}), "thresholds": self.thresholds}
            atomic_write_json(folder / THRESHOLDS_FILE, report)
        else:
            (folder / THRESHOLDS_FILE).unlink(missing_ok=True)  # stale: not these weights'
        return super().save_pretrained(folder, **kwargs)  # type: ignore[misc]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs: Any) -> Any:
        model = super().from_pretrained(pretrained_model_name_or_path, **kwargs)  # type: ignore[misc]
        source = str(pretrained_model_name_or_path)
        local = Path(source).expanduser()
        path = local / THRESHOLDS_FILE if local.is_dir() else _hub_thresholds_file(source, kwargs)
        if path is not None and path.is_file():
            model.thresholds = read_thresholds(path, list(model.label_names))
        return model

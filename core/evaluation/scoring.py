"""Scoring a labelled image set with a model, batch by batch, with the scores cached on disk.

A cached ``<name>.npy`` is reused when its ``<name>.json`` fingerprint (data, labels, model) matches,
so an interrupted or repeated evaluation does not score the same images again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tailorgen.io import atomic_path, atomic_write_json

__all__ = ["cached_scores", "fingerprint", "save_array", "score_dataset"]


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-able parts (paths and other objects by their ``str``)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def score_dataset(
    dataset: Any, transform: Any, score: Callable[[Any], Any], *, batch_size: int, num_workers: int, desc: str
) -> np.ndarray:
    """(N, C) float32 scores: ``score(batch of transformed images)`` over the whole data set, in order."""
    import torch
    from tailorgen.data.labeled_images import loader_errors
    from tailorgen.runtime.progress import progress

    dataset.transform = transform
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=num_workers)
    rows = []
    with torch.no_grad(), loader_errors():
        for images, _ in progress(loader, desc=desc, unit="batch"):
            rows.append(score(images).float().cpu().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)


def cached_scores(directory: Path, name: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Scores from ``directory/<name>.npy`` if saved under fingerprint ``key``, else ``compute()`` and save."""
    scores_path, meta_path = directory / f"{name}.npy", directory / f"{name}.json"
    if scores_path.is_file() and meta_path.is_file():
        try:
            if json.loads(meta_path.read_text()).get("fingerprint") == key:
                return np.load(scores_path, allow_pickle=False)
        except (ValueError, OSError):
            pass  # unreadable cache: score again
    scores = compute()
    save_array(scores_path, scores)
    atomic_write_json(meta_path, {"fingerprint": key, "shape": list(scores.shape)})
    return scores


def save_array(path: Path, array: np.ndarray) -> None:
    """``np.save`` (no pickles), written atomically."""
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, array, allow_pickle=False)

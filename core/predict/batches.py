"""Predicting many image files batch by batch, where a bad file costs only its own result."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError
from tailorgen.predict.base import Predictor
from tailorgen.predict.images import ImageFailure, load_image

__all__ = ["ImageResult", "predict_files"]


@dataclass(frozen=True)
class ImageResult:
    """One decoded image's probabilities, columns in ``predictor.label_names`` order."""

    image: str
    probabilities: np.ndarray


def predict_files(
    predictor: Predictor, paths: Sequence[str | Path], batch_size: int = 16
) -> Iterator[list[ImageResult | ImageFailure]]:
    """One list per batch of ``paths``, in input order: a result, or a failure for a file that does not decode."""
    for start in range(0, len(paths), batch_size):
        outcomes: list[ImageResult | ImageFailure | None] = []
        decoded: list[tuple[int, str, Any]] = []
        for path in paths[start : start + batch_size]:
            try:
                decoded.append((len(outcomes), str(path), load_image(path)))
                outcomes.append(None)  # filled below once the batch ran
            except TailorgenError as exc:
                outcomes.append(ImageFailure(str(path), str(exc)))
        if decoded:
            rows = predictor.probabilities(predictor.preprocess([image for _, _, image in decoded]))
            for (slot, name, _), row in zip(decoded, rows, strict=True):
                outcomes[slot] = ImageResult(name, row)
        yield [outcome for outcome in outcomes if outcome is not None]

"""The demo's shapes world: find the pretrained shapes-world models and build the world's data set.

A clone of the repository holds pretrained shapes-world models (``benchmarks/shapes/weights``,
30 MB of safetensors); with them ``tailorgen demo`` runs the whole method on models that work
(recognisable shapes, real filter decisions, a classifier that learns unseen shapes). Without them
(a wheel install) the demo falls back to the tiny random models, which only show that data flows.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Literal

from tailorgen.errors import TailorgenError

__all__ = ["SHAPES_DEMO_SPLITS", "choose_world", "ensure_shapes_data", "find_shapes_weights"]

logger = logging.getLogger(__name__)

#: the demo's data set: smaller than the benchmark's so the demo takes minutes
SHAPES_DEMO_SPLITS = {"train": 160, "val": 64, "test": 200}
_ENV = "TAILORGEN_SHAPES_WEIGHTS"
_PARTS = ("clip", "sd")
_DATA_MARKER = "tailorgen-shapes-demo.json"


def _is_weights(path: Path) -> bool:
    return all((path / part).is_dir() for part in _PARTS)


def _clone_weights() -> Path:
    """Where a clone keeps them: ``benchmarks/shapes/weights`` beside the package's source folder."""
    import tailorgen

    return Path(tailorgen.__file__).resolve().parent.parent / "benchmarks" / "shapes" / "weights"


def find_shapes_weights(clone: Path | None = None) -> Path | None:
    """``$TAILORGEN_SHAPES_WEIGHTS``, else the clone's weights folder; None when there are none."""
    if named := os.environ.get(_ENV):
        path = Path(named)
        if not _is_weights(path):
            raise TailorgenError(
                f"{_ENV}={named} holds no shapes-world models (clip/ and sd/)",
                "point it at benchmarks/shapes/weights of a clone, or unset it",
            )
        return path.resolve()
    path = clone or _clone_weights()
    return path.resolve() if _is_weights(path) else None


def choose_world(
    world: Literal["auto", "shapes", "tiny"], clone: Path | None = None
) -> tuple[str, Path | None]:
    """(world, weights): ``auto`` is the shapes world when its weights are found, else the tiny one."""
    if world == "tiny":
        return "tiny", None
    weights = find_shapes_weights(clone)
    if weights is None and world == "shapes":
        raise TailorgenError(
            "the shapes world's pretrained models were not found",
            f"run the demo from a clone (benchmarks/shapes/weights), set {_ENV}, or use --world tiny",
        )
    return ("shapes", weights) if weights is not None else ("tiny", None)


def ensure_shapes_data(directory: str | Path, seed: int = 0) -> Path:
    """The demo's shapes COCO data set in ``directory``, built once (into a sibling, then renamed)."""
    from tailorgen.testing.shapes_coco import build_shapes_coco

    target = Path(directory).resolve()
    if (target / _DATA_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.building-{uuid.uuid4().hex}")
    try:
        build_shapes_coco(staging, seed=seed, splits=SHAPES_DEMO_SPLITS)
        (staging / _DATA_MARKER).write_text('{"note": "tailorgen demo: the shapes world\'s data set"}\n')
        shutil.rmtree(target, ignore_errors=True)  # an unfinished build (no marker)
        try:
            staging.rename(target)
        except OSError:
            if not (target / _DATA_MARKER).is_file():  # not another process's finished build
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target

"""The demo's shapes world: find the pretrained shapes-world models and build the world's data set.

A clone of the repository holds pretrained shapes-world models (``benchmarks/shapes/weights``,
30 MB of safetensors); with them ``tailorgen demo`` runs the whole method on models that work
(recognisable shapes, real filter decisions, a classifier that learns unseen shapes). Without them
(a wheel install) the demo falls back to the tiny random models, which only show that data flows.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from tailorgen.cache import build_once
from tailorgen.errors import TailorgenError

__all__ = ["DATA_KIND", "SHAPES_DEMO_SPLITS", "choose_world", "ensure_shapes_data", "find_shapes_weights"]

logger = logging.getLogger(__name__)

#: the demo's data set: smaller than the benchmark's so the demo takes minutes
SHAPES_DEMO_SPLITS = {"train": 160, "val": 64, "test": 200}
_ENV = "TAILORGEN_SHAPES_WEIGHTS"
_PARTS = ("clip", "sd")
#: the data set's cache folder kind (marker ``tailorgen-shapes-demo.json``) and version
DATA_KIND = "shapes-demo"
_DATA_VERSION = 1


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


def ensure_shapes_data(directory: str | Path) -> Path:
    """The demo's shapes COCO data set in ``directory``, built once (:func:`tailorgen.cache.build_once`)."""
    from tailorgen.testing.shapes_coco import build_shapes_coco

    def build(staging: Path) -> None:
        build_shapes_coco(staging, seed=0, splits=SHAPES_DEMO_SPLITS)

    return build_once(directory, DATA_KIND, _DATA_VERSION, build, "the shapes world's demo data set")

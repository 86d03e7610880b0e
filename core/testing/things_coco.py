"""The things world's target data set in COCO format, in four folds of 36 seen / 12 unseen labels.

Like COCO's 48/17 split, but every label is unseen in exactly one fold, so a benchmark averaged over
the folds measures every label zero-shot. The folds were drawn once (``random.Random(20)`` shuffle
of :data:`~tailorgen.testing.things.THINGS`, every fourth label) before any result existed, and are
fixed here (then "octagon", too close to "circle" at 64 px, became "crown" in its place). Strict zero-shot protocol: train images hold seen things only; val and test hold any
and annotate all of them.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from PIL import Image
from tailorgen.testing.shapes_coco import write_coco_world
from tailorgen.testing.things import THINGS, render, sample_scene

__all__ = ["THINGS_FOLDS", "THINGS_SPLITS", "build_things_coco", "things_label_set"]

#: the unseen labels of each fold (the other 36 are seen)
THINGS_FOLDS: tuple[tuple[str, ...], ...] = (
    ("heart", "star", "trapezoid", "house", "cloud", "fish", "umbrella", "boat", "lollipop", "candle", "leaf", "envelope"),
    ("oval", "ring", "square", "cross", "hexagon", "flower", "mushroom", "cup", "balloon", "bowtie", "snowman", "flag"),
    ("circle", "semicircle", "crescent", "triangle", "diamond", "arrow", "tree", "car", "ladder", "key", "cherry", "bell"),
    ("pentagon", "crown", "sun", "kite", "bottle", "tent", "hourglass", "hammer", "apple", "lightning", "window", "table"),
)  # fmt: skip
#: images per split
THINGS_SPLITS: dict[str, int] = {"train": 960, "val": 256, "test": 1000}
_SIZE = 64


def _unseen(fold: int) -> tuple[str, ...]:
    if not 0 <= fold < len(THINGS_FOLDS):
        raise ValueError(f"fold must be 0-{len(THINGS_FOLDS) - 1}, got {fold}")
    return THINGS_FOLDS[fold]


def things_label_set(fold: int = 0) -> dict[str, Any]:
    """The tailorgen label-set JSON of fold ``fold`` (no synonyms, no hierarchy)."""
    unseen = _unseen(fold)
    return {
        "name": f"things-fold{fold}",
        "source": "tailorgen.testing.things (procedurally drawn; benchmarks/things)",
        "labels": [
            {"name": t, "split": "unseen" if t in unseen else "seen", "synonyms": [], "parents": []}
            for t in THINGS
        ],
        "confusable": [],
    }


def _label_sets(rng: random.Random, split: str, count: int, unseen: tuple[str, ...]) -> list[list[str]]:
    pool = [t for t in THINGS if t not in unseen] if split == "train" else list(THINGS)
    sets = [[t] for t in pool]  # every label of the pool at least once
    while len(sets) < count:
        sets.append(rng.sample(pool, rng.randint(1, 4)))
    rng.shuffle(sets)
    return sets[:count]


def build_things_coco(
    directory: str | Path, seed: int = 0, splits: dict[str, int] | None = None, fold: int = 0
) -> Path:
    """Write ``images/``, ``annotations/instances_{split}.json`` and ``labels.json``; returns the root."""
    unseen = _unseen(fold)
    rng = random.Random(seed)

    def draw(things: list[str]) -> tuple[Image.Image, list[tuple[str, float, float, float]]]:
        scene = sample_scene(rng, "target", _SIZE, things=things)
        objects = [(item.thing, x, y, radius) for item in scene.items for x, y, radius, _ in item.copies]
        return render(scene), objects

    return write_coco_world(
        directory,
        list(THINGS),
        supercategory="thing",
        splits=splits or THINGS_SPLITS,
        label_sets=lambda split, count: _label_sets(rng, split, count, unseen),
        draw=draw,
        label_set=things_label_set(fold),
    )

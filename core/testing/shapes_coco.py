"""The shapes world's target data set in COCO format (the role COCO plays in the paper).

Target-domain scenes (:mod:`tailorgen.testing.shapes`), labels = the 12 shape names, 8 seen and 4
unseen. Strict zero-shot protocol: train images hold seen shapes only (so nothing about an unseen
shape is learnt from real data); val and test hold any shapes and annotate all of them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from tailorgen.testing.shapes import SHAPES, render, sample_scene

__all__ = [
    "SHAPES_SPLITS",
    "UNSEEN_SHAPES",
    "box_annotation",
    "build_shapes_coco",
    "shapes_label_set",
    "write_coco_world",
]

#: the unseen labels (the rest of :data:`~tailorgen.testing.shapes.SHAPES` are seen)
UNSEEN_SHAPES: tuple[str, ...] = ("star", "heart", "crescent", "arrow")
#: images per split
SHAPES_SPLITS: dict[str, int] = {"train": 320, "val": 64, "test": 240}
_SIZE = 64


def shapes_label_set(unseen: tuple[str, ...] = UNSEEN_SHAPES) -> dict[str, Any]:
    """The tailorgen label-set JSON of the world (no synonyms, no hierarchy)."""
    return {
        "name": "shapes",
        "source": "tailorgen.testing.shapes (procedurally drawn; benchmarks/shapes)",
        "labels": [
            {"name": s, "split": "unseen" if s in unseen else "seen", "synonyms": [], "parents": []}
            for s in SHAPES
        ],
        "confusable": [],
    }


def _scenes(rng: random.Random, split: str, count: int, unseen: tuple[str, ...]) -> list[list[str]]:
    pool = [s for s in SHAPES if s not in unseen] if split == "train" else list(SHAPES)
    # Every label of the pool appears at least once, then 1-3 random distinct shapes per image.
    sets = [[s] for s in pool]
    while len(sets) < count:
        sets.append(rng.sample(pool, rng.randint(1, 3)))
    rng.shuffle(sets)
    return sets[:count]


def box_annotation(
    annotation_id: int, image_id: int, category_id: int, circle: tuple[float, float, float]
) -> dict[str, Any]:
    """The COCO annotation of an object drawn in ``circle`` = (centre x, centre y, radius): its square box."""
    x, y, radius = circle
    side = round(2 * radius, 2)
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": category_id,
        "bbox": [round(x - radius, 2), round(y - radius, 2), side, side],
        "area": round(side**2, 2),
        "iscrowd": 0,
    }


def write_coco_world(
    directory: str | Path,
    names: list[str],
    *,
    supercategory: str,
    splits: dict[str, int],
    label_sets: Callable[[str, int], list[list[str]]],
    draw: Callable[[list[str]], tuple[Image.Image, list[tuple[str, float, float, float]]]],
    label_set: dict[str, Any],
) -> Path:
    """Write a drawn world as a COCO-format data set: ``images/``, ``annotations/instances_{split}.json``
    and ``labels.json``; returns the root. ``label_sets(split, count)`` gives each image's labels and
    ``draw(labels)`` its image and objects as (name, centre x, centre y, radius), in that order, so a
    world's seeded draws stay in the order they always had."""
    root = Path(directory)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    categories = [{"id": i + 1, "name": n, "supercategory": supercategory} for i, n in enumerate(names)]
    image_id = annotation_id = 0
    for split, count in splits.items():
        images, annotations = [], []
        for labels in label_sets(split, count):
            image_id += 1
            image, objects = draw(labels)
            file_name = f"{split}_{image_id:05d}.png"
            image.save(root / "images" / file_name)
            images.append(
                {"id": image_id, "file_name": file_name, "width": image.width, "height": image.height}
            )
            for name, x, y, radius in objects:
                annotation_id += 1
                annotations.append(
                    box_annotation(annotation_id, image_id, names.index(name) + 1, (x, y, radius))
                )
        data = {"images": images, "annotations": annotations, "categories": categories}
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(data) + "\n")
    (root / "labels.json").write_text(json.dumps(label_set, indent=2) + "\n")
    return root


def build_shapes_coco(
    directory: str | Path,
    seed: int = 0,
    splits: dict[str, int] | None = None,
    unseen: tuple[str, ...] = UNSEEN_SHAPES,
) -> Path:
    """Write ``images/``, ``annotations/instances_{split}.json`` and ``labels.json``; returns the root."""
    rng = random.Random(seed)

    def draw(shapes: list[str]) -> tuple[Image.Image, list[tuple[str, float, float, float]]]:
        scene = sample_scene(rng, "target", _SIZE, shapes=shapes)
        return render(scene), [(o.shape, o.x, o.y, o.radius) for o in scene.objects]

    return write_coco_world(
        directory,
        list(SHAPES),
        supercategory="shape",
        splits=splits or SHAPES_SPLITS,
        label_sets=lambda split, count: _scenes(rng, split, count, unseen),
        draw=draw,
        label_set=shapes_label_set(unseen),
    )

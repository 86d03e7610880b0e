"""The shapes world's target data set in COCO format (the role COCO plays in the paper).

Target-domain scenes (:mod:`tailorgen.testing.shapes`), labels = the 12 shape names, 8 seen and 4
unseen. Strict zero-shot protocol: train images hold seen shapes only (so nothing about an unseen
shape is learnt from real data); val and test hold any shapes and annotate all of them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from tailorgen.testing.shapes import SHAPES, render, sample_scene

__all__ = ["SHAPES_SPLITS", "UNSEEN_SHAPES", "box_annotation", "build_shapes_coco", "shapes_label_set"]

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


def build_shapes_coco(
    directory: str | Path,
    seed: int = 0,
    splits: dict[str, int] | None = None,
    unseen: tuple[str, ...] = UNSEEN_SHAPES,
) -> Path:
    """Write ``images/``, ``annotations/instances_{split}.json`` and ``labels.json``; returns the root."""
    rng = random.Random(seed)
    root = Path(directory)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    categories = [{"id": i + 1, "name": s, "supercategory": "shape"} for i, s in enumerate(SHAPES)]
    image_id = annotation_id = 0
    for split, count in (splits or SHAPES_SPLITS).items():
        images, annotations = [], []
        for shapes in _scenes(rng, split, count, unseen):
            image_id += 1
            scene = sample_scene(rng, "target", _SIZE, shapes=shapes)
            file_name = f"{split}_{image_id:05d}.png"
            render(scene).save(root / "images" / file_name)
            images.append({"id": image_id, "file_name": file_name, "width": _SIZE, "height": _SIZE})
            for obj in scene.objects:
                annotation_id += 1
                category = SHAPES.index(obj.shape) + 1
                annotations.append(
                    box_annotation(annotation_id, image_id, category, (obj.x, obj.y, obj.radius))
                )
        data = {"images": images, "annotations": annotations, "categories": categories}
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(data) + "\n")
    (root / "labels.json").write_text(json.dumps(shapes_label_set(unseen), indent=2) + "\n")
    return root

"""A tiny COCO-format multi-label data set: procedurally drawn shapes, one shape/colour per label.

Zero-shot protocol as in COCO 48/17: train annotations carry seen labels only (unseen objects may be
in the picture but are not annotated); val and test carry every label and are disjoint.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

__all__ = ["TINY_COCO_LABELS", "build_tiny_coco"]

_SIZE = 64
_CELL = _SIZE // 2

#: (name, split, COCO category id, synonyms, shape, RGB colour); names and ids are COCO's own.
TINY_COCO_LABELS: tuple[tuple[str, str, int, tuple[str, ...], str, tuple[int, int, int]], ...] = (
    ("person", "seen", 1, ("people", "man", "woman"), "ellipse", (230, 40, 40)),
    ("bicycle", "seen", 2, ("bike",), "rectangle", (40, 200, 40)),
    ("car", "seen", 3, ("automobile",), "triangle", (40, 40, 230)),
    ("truck", "seen", 8, ("lorry",), "ellipse", (230, 200, 40)),
    ("boat", "seen", 9, ("ship",), "rectangle", (40, 210, 210)),
    ("horse", "seen", 19, ("pony",), "triangle", (210, 40, 210)),
    ("bus", "unseen", 6, ("buses",), "rectangle", (250, 140, 20)),
    ("cat", "unseen", 17, ("kitten",), "ellipse", (120, 60, 20)),
    ("cow", "unseen", 21, ("cattle",), "triangle", (250, 250, 250)),
    ("elephant", "unseen", 22, (), "ellipse", (20, 20, 20)),
)
_SPLITS = {"train": 24, "val": 12, "test": 12}


def _draw(draw: Any, shape: str, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = box
    if shape == "ellipse":
        draw.ellipse(box, fill=colour)
    elif shape == "rectangle":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=colour)


def _image(rng: random.Random, label_ids: list[int]) -> tuple[Any, list[tuple[int, list[int]]]]:
    """One image with each label's shape in its own quadrant; returns it and (label index, bbox) pairs."""
    from PIL import Image, ImageDraw

    background = tuple(rng.randint(90, 160) for _ in range(3))
    image = Image.new("RGB", (_SIZE, _SIZE), background)
    draw = ImageDraw.Draw(image)
    cells = rng.sample(range(4), len(label_ids))
    boxes = []
    for index, cell in zip(label_ids, cells, strict=True):
        w, h = rng.randint(16, 28), rng.randint(16, 28)
        x0 = (cell % 2) * _CELL + rng.randint(0, _CELL - w)
        y0 = (cell // 2) * _CELL + rng.randint(0, _CELL - h)
        _, _, _, _, shape, colour = TINY_COCO_LABELS[index]
        _draw(draw, shape, (x0, y0, x0 + w - 1, y0 + h - 1), colour)
        boxes.append((index, [x0, y0, w, h]))
    return image, boxes


def _label_sets(rng: random.Random, count: int, need_seen: bool) -> list[list[int]]:
    """1-3 labels per image; the first images cover every label once so each split has all of them.

    With ``need_seen`` every image gets at least one seen label (a training image without any
    annotation left after removing the unseen ones would teach nothing).
    """
    n = len(TINY_COCO_LABELS)
    seen = [i for i, label in enumerate(TINY_COCO_LABELS) if label[1] == "seen"]
    order = rng.sample(range(n), n)
    sets = [{order[i % n], order[(i + 1) % n]} for i in range(0, n, 2)]
    while len(sets) < count:
        sets.append(set(rng.sample(range(n), rng.randint(1, 3))))
    for labels in sets:
        if need_seen and not labels & set(seen):
            labels.add(rng.choice(seen))
    return [sorted(labels) for labels in sets[:count]]


def _label_set_json() -> dict[str, Any]:
    return {
        "name": "tiny-coco",
        "source": "tailorgen.testing (procedurally drawn shapes; COCO names and category ids)",
        "labels": [
            {"name": name, "split": split, "synonyms": list(syn), "parents": []}
            for name, split, _, syn, _, _ in TINY_COCO_LABELS
        ],
        "confusable": [["elephant", "cow"]],  # a COCO 48/17 default pair
        "external_ids": {name: cid for name, _, cid, *_ in TINY_COCO_LABELS},
    }


def build_tiny_coco(directory: str | Path, seed: int = 0) -> Path:
    """Write ``images/``, ``annotations/instances_{train,val,test}.json`` and ``labels.json``."""
    rng = random.Random(seed)
    root = Path(directory)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    categories = [
        {"id": cid, "name": name, "supercategory": "thing"} for name, _, cid, *_ in TINY_COCO_LABELS
    ]
    image_id = annotation_id = 0
    for split, count in _SPLITS.items():
        images, annotations = [], []
        for label_ids in _label_sets(rng, count, need_seen=split == "train"):
            image_id += 1
            image, boxes = _image(rng, label_ids)
            file_name = f"{split}_{image_id:04d}.png"
            image.save(root / "images" / file_name)
            images.append({"id": image_id, "file_name": file_name, "width": _SIZE, "height": _SIZE})
            for index, bbox in boxes:
                _, label_split, cid, *_ = TINY_COCO_LABELS[index]
                if split == "train" and label_split != "seen":
                    continue
                annotation_id += 1
                annotations.append(
                    {
                        "id": annotation_id,
                        "image_id": image_id,
                        "category_id": cid,
                        "bbox": bbox,
                        "area": bbox[2] * bbox[3],
                        "iscrowd": 0,
                    }
                )
        data = {"images": images, "annotations": annotations, "categories": categories}
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(data, indent=1) + "\n")
    (root / "labels.json").write_text(json.dumps(_label_set_json(), indent=2) + "\n")
    return root

"""``coco`` dataset: a COCO instances JSON plus its image folder, targets from the box annotations.

Categories are mapped to label names through the label set's ``external_ids`` (COCO category ids,
as in the ``coco-48-17`` preset) when it has them, else by category name.

The ``train`` split keeps, by default, only images with at least one seen-label annotation, as the
reference trains on the images of its seen-only annotation file (``train_images``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field
from tailorgen.data.datasets import ImageDataset, ImageDatasetOptions, RawLabels, require_file
from tailorgen.data.labels import LabelSet
from tailorgen.errors import TailorgenError
from tailorgen.registry import hookimpl

__all__ = ["CocoDataset", "CocoOptions"]

logger = logging.getLogger(__name__)


class CocoOptions(ImageDatasetOptions):
    annotations: str = Field(
        default="annotations/instances_{split}.json",
        description="Instances JSON; {split} is the split's file name.",
    )
    images: str = Field(default="images", description="Image folder (may use {split}, e.g. '{split}').")
    train_images: Literal["with-seen", "seen-only", "all"] = Field(
        default="with-seen",
        description="Images of the train split: 'with-seen' (the reference) keeps those with at least "
        "one seen-label annotation; 'seen-only' also drops those with an unseen-label annotation; "
        "'all' keeps every image. Seen/unseen come from the label set (without one: the requested "
        "labels are seen, every other label unseen).",
    )


class CocoDataset(ImageDataset):
    name = "coco"
    description = "COCO instances JSON + image folder (multi-label targets from the annotations)."
    Options = CocoOptions

    def required_files(self, split: str) -> dict[str, Path]:
        opts = self.options
        return {
            "annotations": self.resolve(opts.annotations.format(split=split)),
            "images": self.resolve(opts.images.format(split=split)),
        }

    def read(self, split: str, label_set: LabelSet | None) -> RawLabels:
        opts = self.options
        path = require_file(self.resolve(opts.annotations.format(split=split)), f"COCO {split} annotations")
        try:
            data = json.loads(path.read_text())
            images, annotations, categories = data["images"], data.get("annotations", []), data["categories"]
            image_ids = np.array([int(im["id"]) for im in images], dtype=np.int64)
            files = [im["file_name"] for im in images]
            cat_ids = [int(c["id"]) for c in categories]
            cat_names = [str(c["name"]) for c in categories]
            ann_images = np.array([int(a["image_id"]) for a in annotations], dtype=np.int64)
            ann_cats = np.array([int(a["category_id"]) for a in annotations], dtype=np.int64)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
            raise TailorgenError(f"{path} is not a COCO instances file: {exc!r}") from None
        rows = _lookup(image_ids, ann_images, f"{path}: annotation of unknown image id")
        cols = _lookup(
            np.array(cat_ids, dtype=np.int64), ann_cats, f"{path}: annotation of unknown category id"
        )
        matrix = np.zeros((len(images), len(categories)), dtype=bool)
        matrix[rows, cols] = True
        folder = self.resolve(opts.images.format(split=split))
        return RawLabels(
            [folder / f for f in files], _label_names(cat_ids, cat_names, label_set), matrix, str(path)
        )

    def select(
        self, split: str, raw: RawLabels, label_names: list[str], label_set: LabelSet | None
    ) -> RawLabels:
        rule = self.options.train_images
        if split != "train" or rule == "all":
            return raw
        seen = set(label_set.seen if label_set is not None else label_names)
        unseen = set(label_set.unseen) if label_set is not None else set(raw.names) - seen
        keep = raw.matrix[:, [name in seen for name in raw.names]].any(axis=1)
        if rule == "seen-only":
            keep &= ~raw.matrix[:, [name in unseen for name in raw.names]].any(axis=1)
        logger.info(
            "%s train: %d of %d images kept (train_images = %r)", self.name, keep.sum(), len(keep), rule
        )
        return raw.take(np.flatnonzero(keep), f"(train_images = {rule!r})")


def _lookup(keys: np.ndarray, queries: np.ndarray, message: str) -> np.ndarray:
    """Positions of ``queries`` in ``keys`` (vectorised); a query not in ``keys`` is an error."""
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys, queries, sorter=order)
    found = order[np.minimum(pos, len(keys) - 1)] if len(keys) else pos
    bad = (pos >= len(keys)) | (keys[found] != queries) if len(keys) else np.ones(len(queries), bool)
    if bad.any():
        raise TailorgenError(f"{message} {int(queries[bad][0])}")
    return found


def _label_names(cat_ids: list[int], cat_names: list[str], label_set: LabelSet | None) -> list[str]:
    """Label-set names of the categories: by COCO id when the label set has ids, else by name."""
    if label_set is None or not label_set.external_ids:
        return cat_names
    by_id: dict[int, str] = {i: name for name, i in label_set.external_ids.items()}
    # an id the label set lacks keeps a marked category name so the base class reports it as unknown
    return [by_id.get(i, f"{name} (COCO id {i})") for i, name in zip(cat_ids, cat_names, strict=True)]


@hookimpl
def register_datasets(register: Any) -> None:
    register(CocoDataset)

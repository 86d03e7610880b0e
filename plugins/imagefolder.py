"""``imagefolder`` dataset: an image folder with a ``metadata.jsonl`` whose rows have a label list.

This is the Hugging Face imagefolder layout that tailorgen's generate stage writes (``synthetic/``):
rows ``{"file_name": "images/000001.png", "labels": ["cat", "dog"], "accepted": true, ...}``.
Splits: ``<root>/<split>/metadata.jsonl`` if that exists; else ``<root>/metadata.jsonl``, filtered by
a ``split`` column when the rows have one (rows without it belong to every split).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field
from tailorgen.data.datasets import ImageDataset, ImageDatasetOptions, RawLabels, require_file
from tailorgen.data.labels import LabelSet
from tailorgen.errors import TailorgenError
from tailorgen.registry import hookimpl

__all__ = ["ImageFolderDataset", "ImageFolderOptions"]


class ImageFolderOptions(ImageDatasetOptions):
    accepted_only: bool = Field(
        default=True, description="Keep only rows with accepted = true (if the column exists)."
    )
    metadata: str = Field(
        default="metadata.jsonl", description="Metadata file name inside the (split) folder."
    )
    labels_column: str = Field(
        default="labels", description="Column holding each image's list of label names."
    )


class ImageFolderDataset(ImageDataset):
    name = "imagefolder"
    description = "Image folder + metadata.jsonl with a labels column (tailorgen synthetic data sets)."
    Options = ImageFolderOptions

    def _metadata(self, split: str) -> Path:
        """``<root>/<split>/<metadata>`` if that exists, else ``<root>/<metadata>``."""
        inside = self.resolve(split) / self.options.metadata
        return inside if inside.is_file() else self.resolve(".") / self.options.metadata

    def required_files(self, split: str) -> dict[str, Path]:
        return {"metadata": self._metadata(split)}

    def read(self, split: str, label_set: LabelSet | None) -> RawLabels:
        opts = self.options
        path = require_file(self._metadata(split), "imagefolder metadata")
        folder = path.parent
        rows = [r for r in _read_rows(path) if r.get("split", split) == split]
        if opts.accepted_only:
            rows = [r for r in rows if r.get("accepted", True) is True]
        label_lists = [_labels_of(r, opts.labels_column, path) for r in rows]
        names = sorted({n for labels in label_lists for n in labels})
        column = {n: j for j, n in enumerate(names)}
        row_idx = np.repeat(np.arange(len(rows)), [len(ls) for ls in label_lists])
        col_idx = np.array([column[n] for labels in label_lists for n in labels], dtype=np.int64)
        matrix = np.zeros((len(rows), len(names)), dtype=bool)
        matrix[row_idx, col_idx] = True
        return RawLabels([folder / str(r["file_name"]) for r in rows], names, matrix, str(path))


def _read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TailorgenError(f"{path} line {number} is not valid JSON: {exc}") from None
        if not isinstance(row, dict) or "file_name" not in row:
            raise TailorgenError(f"{path} line {number}: expected an object with a 'file_name'")
        rows.append(row)
    return rows


def _labels_of(row: dict[str, Any], column: str, path: Path) -> list[str]:
    labels = row.get(column)
    if isinstance(labels, str):
        return [labels]
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise TailorgenError(
            f"{path}: row {row['file_name']!r} has no list of label names in column {column!r}",
            "set options.labels_column to the column that holds them",
        )
    return labels


@hookimpl
def register_datasets(register: Any) -> None:
    register(ImageFolderDataset)

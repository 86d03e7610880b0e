"""``nus-wide`` dataset: the NUS-WIDE zero-shot layout (image list + tag matrix + concept label files).

Expected files under ``root`` (every name is an option; ``{Split}`` is the split's file name,
``Train``/``Test`` by default):

- ``ImageList/{Split}Imagelist.txt``: one image path a line (``actor\\0001_2124494179.jpg``;
  backslashes are read as folder separators), relative to the ``Flickr/`` image folder;
- ``NUS_WID_Tags/TagList1k.txt`` (one tag a line) and ``NUS_WID_Tags/{Split}_Tags1k.dat``
  (one row of 0/1 per image, one column per tag): the Flickr tags, i.e. the 925 seen labels;
- ``Concepts81.txt`` (one concept a line) and ``TrainTestLabels/Labels_{concept}_{Split}.txt``
  (one 0/1 a line per image): the 81 human-annotated concepts, i.e. the unseen labels.

A tag whose name is also a concept is ignored in favour of the human annotation (this is how the
925 seen tags come out of the 1000). Set ``tag_names`` or ``concept_names`` to "" to skip that part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field
from tailorgen.data.datasets import ImageDataset, ImageDatasetOptions, RawLabels, require_file
from tailorgen.data.labels import LabelSet
from tailorgen.errors import TailorgenError
from tailorgen.registry import hookimpl

__all__ = ["NusWideDataset", "NusWideOptions"]


class NusWideOptions(ImageDatasetOptions):
    images: str = Field(default="Flickr", description="Folder the image list's paths are relative to.")
    image_list: str = Field(default="ImageList/{Split}Imagelist.txt", description="Image list of a split.")
    tag_names: str = Field(
        default="NUS_WID_Tags/TagList1k.txt", description="Tag names, one a line ('' = none)."
    )
    tag_matrix: str = Field(
        default="NUS_WID_Tags/{Split}_Tags1k.dat", description="0/1 matrix, images x tags."
    )
    concept_names: str = Field(default="Concepts81.txt", description="Concept names, one a line ('' = none).")
    concept_labels: str = Field(
        default="TrainTestLabels/Labels_{concept}_{Split}.txt", description="0/1 column of one concept."
    )
    split_names: dict[str, str] = Field(
        default_factory=lambda: {"train": "Train", "test": "Test"},
        description='Split -> the name in file names ({Split}), optionally sliced, e.g. val = "Train[90%:]".',
    )


class NusWideDataset(ImageDataset):
    name = "nus-wide"
    description = "NUS-WIDE zero-shot layout: image list, Flickr tag matrix, 81 concept label files."
    Options = NusWideOptions

    def required_files(self, split: str) -> dict[str, Path]:
        opts = self.options
        names = {"images": opts.images, "image_list": opts.image_list.format(Split=split)}
        if opts.concept_names:
            names["concept_names"] = opts.concept_names
        if opts.tag_names:
            names |= {"tag_names": opts.tag_names, "tag_matrix": opts.tag_matrix.format(Split=split)}
        return {option: self.resolve(name) for option, name in names.items()}

    def read(self, split: str, label_set: LabelSet | None) -> RawLabels:
        opts = self.options
        list_path = require_file(self.resolve(opts.image_list.format(Split=split)), f"NUS-WIDE {split} list")
        files = [line.replace("\\", "/") for line in _lines(list_path)]
        concepts = (
            _lines(require_file(self.resolve(opts.concept_names), "concept list"))
            if opts.concept_names
            else []
        )
        names: list[str] = []
        parts: list[np.ndarray] = []  # (N images, k labels) blocks, checked against the image list
        for concept in concepts:
            path = self.resolve(opts.concept_labels.format(concept=concept, Split=split))
            names.append(concept)
            parts.append(_check_rows(_read_01(path, ndmin=1).reshape(-1, 1), len(files), path))
        if opts.tag_names:
            tags = _lines(require_file(self.resolve(opts.tag_names), "tag list"))
            path = self.resolve(opts.tag_matrix.format(Split=split))
            matrix = _check_rows(_read_01(path, ndmin=2), len(files), path)
            if matrix.shape[1] != len(tags):
                raise TailorgenError(f"{path} has {matrix.shape[1]} columns but {len(tags)} tags are listed")
            annotated = set(concepts)  # a tag that is also a concept defers to the human annotation
            keep = [j for j, tag in enumerate(tags) if tag not in annotated]
            names += [tags[j] for j in keep]
            parts.append(matrix[:, keep])
        matrix = np.concatenate(parts, axis=1) if parts else np.zeros((len(files), 0), dtype=bool)
        folder = self.resolve(opts.images)
        return RawLabels([folder / f for f in files], names, matrix, str(list_path))


def _check_rows(block: np.ndarray, n_images: int, path: Path) -> np.ndarray:
    if block.shape[0] != n_images:
        raise TailorgenError(
            f"{path} has {block.shape[0]} label rows but the image list has {n_images} images",
            "the image list and the label files must come from the same release",
        )
    return block


def _lines(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip()
    ]


def _read_01(path: Path, ndmin: int) -> np.ndarray:
    """A whitespace-separated 0/1 file as a boolean array."""
    require_file(path, "NUS-WIDE label file")
    try:
        return np.loadtxt(path, dtype=np.int8, ndmin=ndmin) > 0
    except ValueError as exc:
        raise TailorgenError(f"{path} is not a 0/1 matrix: {exc}") from None


@hookimpl
def register_datasets(register: Any) -> None:
    register(NusWideDataset)

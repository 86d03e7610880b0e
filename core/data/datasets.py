"""What the dataset plugins share: options, label-name resolution, image checks, the returned data set.

A plugin only reads its file layout into :class:`RawLabels` (image paths, the label names found in
the data, a boolean matrix); :class:`ImageDataset.load` turns that into a
:class:`~tailorgen.data.labeled_images.LabeledImages` over the caller's label names.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tailorgen.data.split_slices import parse_split, slice_rows
from tailorgen.errors import TailorgenError
from tailorgen.registry.roles import Dataset
from tailorgen.runtime.progress import progress

if TYPE_CHECKING:
    from tailorgen.data.labeled_images import LabeledImages
    from tailorgen.data.labels import LabelSet

__all__ = ["ImageDataset", "ImageDatasetOptions", "RawLabels", "require_file"]

logger = logging.getLogger(__name__)


class ImageDatasetOptions(BaseModel):
    """Options every image dataset plugin has."""

    model_config = ConfigDict(extra="forbid")

    root: Path = Field(description="Folder of the data set; relative file options are resolved inside it.")
    skip_bad_images: bool = Field(
        default=False, description="Leave out (and count) missing or corrupt images instead of failing."
    )
    ignore_labels: list[str] = Field(
        default_factory=list,
        description="Label names in the data to drop on purpose (others must be in the label set).",
    )
    split_names: dict[str, str] = Field(
        default_factory=dict,
        description='Split -> the name in the files, optionally sliced, e.g. {test = "val2014", '
        'val = "train2014[90%:]"}; default: the split itself.',
    )
    verify_images: bool = Field(
        default=False,
        description="Check that every image decodes when loading (always on with skip_bad_images); "
        "otherwise only missing files are found at load time and corrupt ones when read.",
    )


@dataclass
class RawLabels:
    """One split as a plugin read it: image paths and a (N images x len(names)) boolean label matrix."""

    paths: list[Path]
    names: list[str]
    matrix: np.ndarray
    source: str  # what was read, for messages (e.g. the annotation file)

    def take(self, rows: slice | np.ndarray, note: str) -> RawLabels:
        """The rows ``rows`` (a slice or an index array) only; ``note`` says which, in the source."""
        indices = range(len(self.paths))[rows] if isinstance(rows, slice) else rows.tolist()
        return RawLabels(
            [self.paths[i] for i in indices], self.names, self.matrix[rows], f"{self.source} {note}"
        )


def require_file(path: Path, what: str) -> Path:
    """``path`` if it exists, else a TailorgenError naming it and what it should be."""
    if not path.exists():
        raise TailorgenError(f"{what} {path} not found", "check the data set's root and file options")
    return path


class ImageDataset(Dataset):
    """Base of the reference dataset plugins: subclasses implement :meth:`read`."""

    Options = ImageDatasetOptions

    @abc.abstractmethod
    def read(self, split: str, label_set: LabelSet | None) -> RawLabels:
        """Read ``split`` (its name in the files, after ``split_names``); label names must already
        be label-set names (map external ids here)."""

    def resolve(self, name: str) -> Path:
        """An option path, relative to ``root`` unless absolute."""
        path = Path(name)
        return path if path.is_absolute() else Path(self.options.root) / path

    def required_files(self, split: str) -> dict[str, Path]:
        """Option name -> a file or folder reading ``split`` (its name in the files) needs."""
        return {}

    def problems(self, split: str) -> list[tuple[str, str]]:
        """(option, problem) for what loading ``split`` would fail on, found without reading it
        (what the dry run and ``tailorgen run`` check before any work starts)."""
        root = Path(self.options.root)
        if not root.is_dir():
            return [("root", f"data set root {root} is not a folder")]
        name, _ = parse_split(self.options.split_names.get(split, split))
        needed = self.required_files(name).items()
        return [
            (option, f"{path} not found (split {split!r})") for option, path in needed if not path.exists()
        ]

    def load(self, split: str, label_names: list[str], label_set: LabelSet | None = None) -> LabeledImages:
        """Images of ``split`` with targets over ``label_names`` (a subset of ``label_set``'s names).

        Every label name in the data must be in ``label_set`` (or, without one, in ``label_names``);
        labels of the set that ``label_names`` leaves out are dropped.
        """
        import torch
        from tailorgen.data.labeled_images import LabeledImages

        root = Path(self.options.root)
        if not root.is_dir():
            raise TailorgenError(f"{self.name} data set root {root} is not a folder", "set options.root")
        name, bounds = parse_split(self.options.split_names.get(split, split))
        raw = self.read(name, label_set)
        if bounds is not None:  # a slice of the split, in file order
            raw = raw.take(slice_rows(bounds, len(raw.paths)), f"[{bounds[0] or ''}:{bounds[1] or ''}]")
        raw = self.select(split, raw, label_names, label_set)
        targets = _targets(raw, label_names, label_set, set(self.options.ignore_labels))
        keep, skipped = self._check_images(raw.paths, f"{self.name} {split}")
        paths = [raw.paths[i] for i in keep]
        logger.info(
            f"{self.name} {split}: {len(paths)} images, {len(label_names)} labels"
            + (f", {len(skipped)} bad images skipped" if skipped else "")
        )
        return LabeledImages(paths, torch.from_numpy(targets[keep]), label_names, skipped)

    def select(
        self, split: str, raw: RawLabels, label_names: list[str], label_set: LabelSet | None
    ) -> RawLabels:
        """The images of ``split`` a plugin keeps (after slicing); all of them unless overridden."""
        return raw

    def _check_images(self, paths: list[Path], what: str) -> tuple[np.ndarray, list[tuple[Path, str]]]:
        opts = self.options
        decode = opts.verify_images or opts.skip_bad_images
        items = progress(paths, desc=f"checking {what} images", unit="img") if decode else paths
        bad = [(path, reason) for path in items if (reason := _problem(path, decode))]
        if bad and not opts.skip_bad_images:
            path, reason = bad[0]
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            raise TailorgenError(
                f"{what}: image {path} is {reason}{more}",
                "restore it, or set skip_bad_images = true in the data set's options",
            )
        bad_paths = {path for path, _ in bad}
        keep = np.array([i for i, p in enumerate(paths) if p not in bad_paths], dtype=np.int64)
        return keep, bad


def _problem(path: Path, decode: bool) -> str:
    """Why an image cannot be used ("" when it can)."""
    if not path.is_file():
        return "missing"
    if not decode:
        return ""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.verify()
    except Exception as exc:  # PIL raises many types for bad files
        return f"corrupt ({type(exc).__name__}: {exc})"
    return ""


def _targets(raw: RawLabels, label_names: list[str], label_set: Any, ignored: set[str]) -> np.ndarray:
    """Map the data's label columns onto ``label_names``; unknown names (not ``ignored``) are errors."""
    known = set(label_set.names) if label_set is not None else set(label_names)
    if label_set is not None and (outside := [n for n in label_names if n not in known]):
        raise TailorgenError(f"label names {outside[:5]} are not in label set {label_set.name!r}")
    if unknown := sorted({n for n in raw.names if n not in known and n not in ignored}):
        where = f"label set {label_set.name!r}" if label_set is not None else "the requested label names"
        raise TailorgenError(
            f"{raw.source}: {len(unknown)} label name(s) not in {where}: {', '.join(unknown[:8])}"
            + (", ..." if len(unknown) > 8 else ""),
            "use the label set this data set was made for, add the labels to it, "
            "or list them in the data set's ignore_labels option",
        )
    position = {name: i for i, name in enumerate(label_names)}
    src = np.array([j for j, n in enumerate(raw.names) if n in position and n not in ignored], dtype=np.int64)
    dst = np.array([position[raw.names[j]] for j in src], dtype=np.int64)
    columns = np.zeros((len(label_names), len(raw.paths)), dtype=bool)
    np.logical_or.at(columns, dst, raw.matrix.T[src])  # OR, since two data columns may map to one label
    return columns.T.astype(np.float32)

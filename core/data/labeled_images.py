"""The torch data set every dataset plugin returns: image paths plus a multi-hot target matrix."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError
from tailorgen.errors import TailorgenError

__all__ = ["LabeledImages", "loader_errors", "open_rgb"]


def open_rgb(path: str | Path) -> Image.Image:
    """Decode an image fully as RGB; a missing or corrupt file is a TailorgenError naming its path."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")  # convert() forces the full decode, so truncation shows here
    except FileNotFoundError:
        raise TailorgenError(
            f"image {path} is missing", "restore it, or set skip_bad_images = true in the data set's options"
        ) from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise TailorgenError(
            f"image {path} is corrupt or unreadable: {exc}",
            "replace it, or set skip_bad_images = true in the data set's options",
        ) from None


class LabeledImages(torch.utils.data.Dataset):
    """``(PIL RGB image, float multi-hot target)`` pairs; ``transform`` (if set) is applied to the image.

    ``paths`` and ``targets`` (N x C, columns = ``label_names``) allow vectorised evaluation without
    decoding images; ``skipped`` lists ``(path, reason)`` for images left out as bad.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        targets: torch.Tensor,
        label_names: Sequence[str],
        skipped: Sequence[tuple[Path, str]] = (),
        transform: Callable[[Image.Image], Any] | None = None,
    ) -> None:
        if targets.shape != (len(paths), len(label_names)):
            raise ValueError(f"targets {tuple(targets.shape)} != ({len(paths)}, {len(label_names)})")
        self.paths = list(paths)
        self.targets = targets.float()
        self.label_names = list(label_names)
        self.skipped = list(skipped)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Any, torch.Tensor]:
        image = open_rgb(self.paths[index])
        return (self.transform(image) if self.transform else image), self.targets[index]


@contextlib.contextmanager
def loader_errors() -> Iterator[None]:
    """Turn a TailorgenError raised in a DataLoader worker back into its own one-line message.

    torch re-raises a worker's exception with the whole worker traceback as its message.
    """
    try:
        yield
    except TailorgenError as exc:
        if "DataLoader worker" not in exc.message:
            raise
        last = exc.message.strip().splitlines()[-1]
        raise TailorgenError(last.split("TailorgenError: ", 1)[-1]) from None

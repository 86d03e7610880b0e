"""Reading images for prediction: which files a folder holds, and one-line errors naming a bad file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError

__all__ = ["IMAGE_EXTENSIONS", "ImageFailure", "collect_images", "load_image"]

#: file name endings taken from a folder (case-insensitive); a file named directly is always taken
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
)


@dataclass(frozen=True)
class ImageFailure:
    """An input that gave no result: the path as the user wrote it and a one-line reason."""

    image: str
    error: str


def load_image(path: str | Path) -> Any:
    """Open and fully decode ``path`` as an RGB PIL image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.convert("RGB")  # convert() decodes the whole file: truncation shows here
    except FileNotFoundError:
        raise TailorgenError(f"image {path} not found") from None
    except IsADirectoryError:
        raise TailorgenError(f"image {path} is a directory") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise TailorgenError(
            f"cannot read image {path}: {exc}", "is it a valid PNG/JPEG/WebP file?"
        ) from None


def _folder_images(folder: Path) -> list[Path]:
    """Image files anywhere under ``folder``, sorted; hidden files and folders (``.name``) are skipped."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_EXTENSIONS
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def collect_images(inputs: Iterable[str | Path]) -> tuple[list[Path], list[ImageFailure]]:
    """The image files ``inputs`` name (folders searched recursively) and the inputs that name none.

    Only existence is checked here (cheap, before any model loads); decoding happens batch by batch.
    """
    found: list[Path] = []
    failures: list[ImageFailure] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            inside = _folder_images(path)
            found.extend(inside)
            if not inside:
                extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
                failures.append(ImageFailure(str(item), f"folder {item} holds no images ({extensions})"))
        elif path.exists():
            found.append(path)
        else:
            failures.append(ImageFailure(str(item), f"image {item} not found"))
    return found, failures

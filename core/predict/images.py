"""Reading images for prediction: an unreadable file is a one-line error that names it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError

__all__ = ["load_image"]


def load_image(path: str | Path) -> Any:
    """Open and fully decode ``path`` as an RGB PIL image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.convert("RGB")  # convert() decodes the whole file: truncation shows here
    except FileNotFoundError:
        raise TailorgenError(f"image {path} not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise TailorgenError(
            f"cannot read image {path}: {exc}", "is it a valid PNG/JPEG/WebP file?"
        ) from None

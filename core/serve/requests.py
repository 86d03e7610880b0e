"""What ``POST /predict`` accepts, checked before a request joins a batch.

A request is multipart form data (one or more files, any field name) or JSON
``{"images": ["<base64>", {"name": "cat.png", "data": "<base64>"}, ...]}``. Each image is fully
decoded here, so a bad upload gets a 4xx with its reason and never reaches (or fails) a batch.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["BadRequestError", "Upload", "check_uploads", "content_kind", "decode_upload", "parse_json"]


class BadRequestError(ValueError):
    """A request the server refuses: ``status`` (a 4xx) and a one-line ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Upload:
    """One uploaded image: the name it is reported under and its file bytes."""

    name: str
    data: bytes


def decode_upload(upload: Upload) -> Any:
    """The upload as a fully decoded RGB PIL image (truncation shows here), else BadRequestError."""
    from PIL import Image, UnidentifiedImageError

    if not upload.data:
        raise BadRequestError(400, f"image {upload.name} is empty")
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        status = 415 if isinstance(exc, UnidentifiedImageError) else 400
        raise BadRequestError(status, _reason(upload, exc)) from None


def _reason(upload: Upload, exc: Exception) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):
        return f"image {upload.name} is not an image PIL can read (send PNG, JPEG, WebP, ...)"
    return f"image {upload.name} does not decode: {exc}"


def content_kind(content_type: str) -> str:
    """``multipart`` or ``json`` for a request's Content-Type; BadRequestError for anything else."""
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind == "multipart/form-data":
        return "multipart"
    if kind in {"application/json", ""}:
        return "json"
    raise BadRequestError(
        415, f"unsupported content type {kind!r}: use multipart/form-data or application/json"
    )


def check_uploads(uploads: list[Upload]) -> list[Upload]:
    if not uploads:
        raise BadRequestError(400, "the request holds no images")
    return uploads


def parse_json(body: bytes) -> list[Upload]:
    """The uploads of a JSON body; BadRequestError names what is wrong with it."""
    return check_uploads(_json(body))


def _json(body: bytes) -> list[Upload]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequestError(400, f"request body is not JSON: {exc}") from None
    images = document.get("images") if isinstance(document, dict) else None
    if not isinstance(images, list):
        raise BadRequestError(422, 'JSON body needs "images": a list of base64 strings or {"name", "data"}')
    return [_json_image(index, item) for index, item in enumerate(images)]


def _json_image(index: int, item: Any) -> Upload:
    name, data = (str(index), item) if isinstance(item, str) else _named(index, item)
    try:
        return Upload(name, base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        raise BadRequestError(422, f"image {name} is not valid base64") from None


def _named(index: int, item: Any) -> tuple[str, str]:
    if not isinstance(item, dict) or not isinstance(item.get("data"), str):
        raise BadRequestError(422, f'images[{index}] is neither a base64 string nor {{"name", "data"}}')
    return str(item.get("name", index)), item["data"]

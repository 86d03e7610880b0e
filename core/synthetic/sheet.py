"""Contact sheet: a PNG grid of generated images captioned with labels, scores and the verdict."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.io import atomic_write_bytes

__all__ = ["contact_sheet", "read_metadata", "sheet_rows", "write_contact_sheet"]

_GREEN, _RED, _INK, _PAPER = (40, 160, 60), (200, 50, 40), (20, 20, 20), (250, 250, 250)
_LINE = 12  # caption line height of PIL's default bitmap font


def read_metadata(root: Path) -> list[dict[str, Any]]:
    metadata = root / "metadata.jsonl"
    if not metadata.is_file():
        raise TailorgenError(f"{metadata} not found", "run the generate stage first (--stages generate)")
    return [json.loads(line) for line in metadata.read_text().splitlines() if line.strip()]


def sheet_rows(rows: list[dict[str, Any]], *, include_rejected: bool, limit: int) -> list[dict[str, Any]]:
    """The rows to show: accepted first, then (optionally) kept rejected ones."""
    chosen = [r for r in rows if r.get("accepted")]
    if include_rejected:
        chosen += [r for r in rows if not r.get("accepted")]
    return chosen[:limit]


def _caption(row: dict[str, Any]) -> list[str]:
    scores = row.get("scores", {})
    labels = ", ".join(row.get("labels", []))
    shown = " ".join(f"{name} {scores[name]:.2f}" for name in row.get("targets", []) if name in scores)
    return [labels, f"v: {shown}", "accepted" if row.get("accepted") else "rejected"]


def _fit(draw: Any, text: str, width: int, font: Any) -> str:
    while text and draw.textlength(text, font=font) > width:
        text = text[:-2] + "…" if len(text) > 2 else ""
    return text


def contact_sheet(root: Path, rows: list[dict[str, Any]], *, columns: int = 6, size: int = 160) -> Any:
    """Render ``rows`` (metadata records) of the data set under ``root`` as one PIL image."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    columns = max(1, min(columns, len(rows) or 1))
    cell_h = size + 4 + 3 * _LINE + 6
    lines = max(1, -(-len(rows) // columns))
    sheet = Image.new("RGB", (columns * (size + 8), lines * cell_h), _PAPER)
    draw = ImageDraw.Draw(sheet)
    if not rows:
        draw.text((4, 4), "no images", fill=_INK, font=font)
    for i, row in enumerate(rows):
        x, y = (i % columns) * (size + 8) + 4, (i // columns) * cell_h + 4
        with Image.open(root / row["file_name"]) as img:
            thumb = img.convert("RGB")
            thumb.thumbnail((size, size), Image.Resampling.BICUBIC) if max(thumb.size) > size else None
            thumb = thumb.resize((size, size), Image.Resampling.NEAREST) if max(thumb.size) < size else thumb
        colour = _GREEN if row.get("accepted") else _RED
        draw.rectangle((x - 2, y - 2, x + size + 1, y + size + 1), outline=colour, width=2)
        sheet.paste(thumb, (x, y))
        for n, text in enumerate(_caption(row)):
            fill = colour if n == 2 else _INK
            draw.text((x, y + size + 4 + n * _LINE), _fit(draw, text, size, font), fill=fill, font=font)
    return sheet


def write_contact_sheet(
    run_dir: Path,
    out_path: Path | None = None,
    *,
    rows: list[dict[str, Any]] | None = None,
    include_rejected: bool = False,
    limit: int = 60,
    columns: int = 6,
    size: int = 160,
) -> Path:
    """Write the contact sheet of ``run_dir/synthetic`` (default ``run_dir/contact_sheet.png``);
    ``rows`` default to the records of its ``metadata.jsonl``."""
    root = run_dir / "synthetic"
    shown = sheet_rows(
        read_metadata(root) if rows is None else rows, include_rejected=include_rejected, limit=limit
    )
    buffer = io.BytesIO()
    contact_sheet(root, shown, columns=columns, size=size).save(buffer, format="PNG")
    target = out_path or run_dir / "contact_sheet.png"
    atomic_write_bytes(target, buffer.getvalue())
    return target

"""The on-disk state of a generation: image files plus one append-only journal per process.

An image is written to a temp file and renamed into place; only then is its record appended to the
process's journal. A record therefore always points at a complete file, and an item without a
valid record is simply redone (its bytes are a function of the plan, so a redo rewrites the same
file). Journals live in ``synthetic/.journal/`` (hidden: not part of the data set).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from tailorgen.io import append_jsonl, atomic_write_bytes, read_jsonl, read_jsonl_from
from tailorgen.synthetic.plan import Item

__all__ = ["ImageStore", "image_bytes", "png_bytes"]

JOURNAL_DIR = ".journal"


def png_bytes(image: Any) -> bytes:
    """Deterministic PNG bytes (no timestamps or text chunks)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def image_bytes(image: Any, image_format: str = "png", jpeg_quality: int = 75) -> bytes:
    """Deterministic bytes of ``image`` as PNG, or as JPEG at ``jpeg_quality`` (PIL's defaults otherwise,
    as the reference code's ``image.save("....jpg")``)."""
    if image_format == "png":
        return png_bytes(image)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=jpeg_quality)
    return buffer.getvalue()


#: file suffix of each image format
SUFFIXES = {"png": ".png", "jpeg": ".jpg"}


def _decodes(data: bytes) -> bool:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except (OSError, SyntaxError, ValueError):
        return False
    return True


class ImageStore:
    """Images and journal records under ``root`` (the ``synthetic/`` folder), for process ``rank``."""

    def __init__(
        self,
        root: Path,
        rank: int,
        digest: str,
        keep_rejected: bool,
        *,
        image_format: str = "png",
        jpeg_quality: int = 75,
    ) -> None:
        self.root = root
        self.journal = root / JOURNAL_DIR / f"rank-{rank:05d}.jsonl"
        # another format or quality writes other files: a record of the old one does not count
        self.digest = digest if image_format == "png" else f"{digest}-{image_format}{jpeg_quality}"
        self.image_format, self.jpeg_quality = image_format, jpeg_quality
        self.keep_rejected = keep_rejected
        #: ids the quota leaves out of the data set (surplus): their files are not needed
        self.surplus: set[int] = set()
        self._records: dict[int, dict[str, Any]] = {}  # per item: its latest matching record
        self._with_file: set[int] = set()  # items whose record's file checks out
        self._journal: dict[int, list[dict[str, Any]]] = {}  # every journal record read, by id
        self._offsets: dict[Path, int] = {}  # per journal: the bytes already read

    def prepare(self, is_main: bool) -> None:
        """Cut a torn last journal line. The main process also removes temp files a kill left behind
        and ``metadata.jsonl``, whose presence says the data set is complete."""
        read_jsonl(self.journal, repair=True)
        if is_main:
            (self.root / "metadata.jsonl").unlink(missing_ok=True)
            for tmp in (self.root / "images").glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    def needs_file(self, record: dict[str, Any]) -> bool:
        return record.get("id") not in self.surplus and (bool(record["accepted"]) or self.keep_rejected)

    def _matches(self, item: Item, record: dict[str, Any]) -> bool:
        return (
            record.get("digest") == self.digest
            and record.get("seed") == item.seed
            and record.get("prompt") == item.prompt
            and tuple(record.get("targets", ())) == item.targets
        )

    def _file_ok(self, record: dict[str, Any]) -> bool:
        if "file_name" not in record:
            return False
        path = self.root / record["file_name"]
        data = path.read_bytes() if path.is_file() else b""
        return hashlib.sha256(data).hexdigest() == record.get("sha256") and _decodes(data)

    def refresh(self, items: list[Item]) -> None:
        """Reload every process's journal; keep, per planned item, its latest matching record,
        preferring one whose file checks out (a finished run deleted the files of surplus images)."""
        records = self._read_journals()
        for item in items:
            known = self._records.get(item.id)
            if known is not None and self._matches(item, known) and item.id in self._with_file:
                continue
            self._records.pop(item.id, None)
            self._with_file.discard(item.id)
            matching = [r for r in reversed(records.get(item.id, [])) if self._matches(item, r)]
            for record in matching:
                if self._file_ok(record):
                    self._records[item.id] = record
                    self._with_file.add(item.id)
                    break
            else:
                if matching:
                    self._records[item.id] = matching[0]

    def _read_journals(self) -> dict[int, list[dict[str, Any]]]:
        """Every process's journal records by id, reading only the lines added since the last call
        (a run of many rounds would otherwise parse its whole history every round)."""
        for journal in sorted((self.root / JOURNAL_DIR).glob("rank-*.jsonl")):
            records, self._offsets[journal] = read_jsonl_from(journal, self._offsets.get(journal, 0))
            for record in records:
                self._journal.setdefault(record.get("id", -1), []).append(record)
        return self._journal

    def record(self, item: Item) -> dict[str, Any] | None:
        """The item's record (its verdict), whether or not the image file is there."""
        record = self._records.get(item.id)
        return record if record is not None and self._matches(item, record) else None

    def done(self, item: Item) -> dict[str, Any] | None:
        """The item's record when nothing is left to do for it: its file checks out or is not needed."""
        record = self.record(item)
        if record is None or (self.needs_file(record) and item.id not in self._with_file):
            return None
        return record

    def save(self, records: list[dict[str, Any]], images: list[Any]) -> None:
        """Write the images the records need (atomically), then append the records to the journal."""
        for record, image in zip(records, images, strict=True):
            record["digest"] = self.digest
            if self.needs_file(record):
                record["file_name"] = str(Path(record["file_name"]).with_suffix(SUFFIXES[self.image_format]))
                data = image_bytes(image, self.image_format, self.jpeg_quality)
                atomic_write_bytes(self.root / record["file_name"], data)
                record["sha256"] = hashlib.sha256(data).hexdigest()
            else:
                record.pop("file_name", None)
        append_jsonl(self.journal, records)
        for record in records:
            self._records[record["id"]] = record
            if "sha256" in record:
                self._with_file.add(record["id"])

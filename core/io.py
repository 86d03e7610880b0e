"""Crash-safe file writes: temp file + fsync + rename + fsync of the folder, and append-only JSON lines.

A rename is durable only once its directory entry is on disk, so every rename here is followed by
an fsync of the parent folder (where the platform allows opening a folder; elsewhere it is skipped).
Folders written whole go through a ``.NAME.partial`` staging folder: :func:`replace_dir` publishes
one, :func:`remove_stale_partials` clears those a crash or a full disk left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "append_jsonl",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "fsync_dir",
    "partial_dir",
    "read_jsonl",
    "read_jsonl_from",
    "remove_stale_partials",
    "replace_dir",
]


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# read once: os.umask can only be read by setting it, which is not thread-safe at write time
_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success it is renamed over ``path``, else removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600, and some writers (safetensors' save_file) recreate the file as 0600:
        # set the usual permissions once the body has written it
        tmp_path.chmod(0o666 & ~_UMASK)
        with tmp_path.open("rb") as fh:
            os.fsync(fh.fileno())
        tmp_path.replace(target)
        fsync_dir(target.parent)
    finally:
        tmp_path.unlink(missing_ok=True)


def fsync_dir(path: str | Path) -> None:
    """Flush ``path``'s directory entries (renames, new files) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # Windows cannot open a folder; there the rename itself is durable enough
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder
        pass
    finally:
        os.close(fd)


def partial_dir(target: str | Path) -> Path:
    """The staging folder of ``target`` (``.NAME.partial`` beside it), emptied and created."""
    target = Path(target)
    staging = target.parent / f".{target.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def replace_dir(staging: str | Path, target: str | Path) -> None:
    """Put the finished ``staging`` folder in place of ``target`` (removed first), durably."""
    target = Path(target)
    shutil.rmtree(target, ignore_errors=True)
    Path(staging).rename(target)
    fsync_dir(target.parent)


def remove_stale_partials(root: str | Path) -> list[Path]:
    """Delete the ``.NAME.partial`` staging folders anywhere under ``root`` (left by a crash or a full
    disk; a live writer empties its own before use, so only one process may write under ``root``)."""
    root = Path(root)
    stale = sorted(p for p in root.rglob(".*.partial") if p.is_dir()) if root.is_dir() else []
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def append_jsonl(path: str | Path, records: list[dict[str, Any]]) -> None:
    """Append records as whole lines in one write, then fsync (a crash leaves at most one torn line)."""
    if not records:
        return
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("ab") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl_from(path: str | Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The whole JSON lines after byte ``offset``, and the offset after the last of them (a torn or
    unfinished last line is left for a later read)."""
    target = Path(path)
    if not target.exists():
        return [], offset
    with target.open("rb") as fh:
        fh.seek(offset)
        raw = fh.read()
    records: list[dict[str, Any]] = []
    good = 0
    for line in raw.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
        good += len(line)
    return records, offset + good


def read_jsonl(path: str | Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """Read JSON lines; a torn last line (from a killed writer) is ignored, or cut off with ``repair``."""
    records, good = read_jsonl_from(path)
    target = Path(path)
    if repair and target.exists() and good != target.stat().st_size:
        with target.open("r+b") as fh:
            fh.truncate(good)
    return records

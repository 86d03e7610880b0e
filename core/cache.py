"""Folders built once and reused: the user cache root, and one marked folder per cached thing.

Every cached thing (the tiny demo models, the shapes world's data set) gets a folder of its own,
marked by a ``tailorgen-KIND.json`` file that names its kind and version. A folder is only ever
reused, replaced or deleted when it carries the marker of the kind being built, so two kinds can
never share, nest in or clobber each other's folder, and a folder of the user's is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError

__all__ = ["build_once", "is_built", "user_cache_dir"]


def user_cache_dir(*parts: str) -> Path:
    """``$TAILORGEN_CACHE``, else ``$XDG_CACHE_HOME/tailorgen``, else ``~/.cache/tailorgen`` (joined with ``parts``)."""
    if named := os.environ.get("TAILORGEN_CACHE"):
        root = Path(named)
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tailorgen"
    return root.joinpath(*parts)


def _marker(directory: Path, kind: str) -> Path:
    return directory / f"tailorgen-{kind}.json"


def is_built(directory: str | Path, kind: str, version: int) -> bool:
    """Whether ``directory`` holds a finished build of ``kind`` at ``version``."""
    try:
        marker = json.loads(_marker(Path(directory), kind).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("version") == version


def _retire(target: Path, kind: str, version: int) -> None:
    """Move an outdated build of ``kind`` out of the way; refuse any folder that is not one."""
    if not target.exists() or is_built(target, kind, version):
        return
    if not _marker(target, kind).exists() and (not target.is_dir() or any(target.iterdir())):
        raise TailorgenError(
            f"{target} exists and is not a tailorgen {kind} directory",
            "give an empty or new directory",
        )
    stale = target.with_name(f".{target.name}.stale-{uuid.uuid4().hex}")
    try:
        target.rename(stale)
    except OSError:
        return  # another process moved it first
    shutil.rmtree(stale, ignore_errors=True)


def _wait_for_other_builder(target: Path, kind: str, version: int, timeout_s: float = 300.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if is_built(target, kind, version):
            return True
        time.sleep(0.5)
    return False


def build_once(
    directory: str | Path,
    kind: str,
    version: int,
    build: Callable[[Path], Any],
    note: str = "",
) -> Path:
    """``directory`` (resolved), built by ``build(staging)`` unless a build of ``kind``/``version`` is there.

    Built into a sibling that is renamed into place, the marker written last, so a concurrent process
    (another torchrun rank) sees nothing or the finished folder, never a half-written one. An older
    version of the same kind is replaced; an empty folder is used; anything else is refused.
    """
    target = Path(directory).resolve()
    if is_built(target, kind, version):
        return target
    _retire(target, kind, version)  # fail before building if the folder is someone else's
    target.parent.mkdir(parents=True, exist_ok=True)
    # a plain mkdir (not mkdtemp, which makes it private): a cache is an ordinary folder
    staging = target.with_name(f".{target.name}.building-{uuid.uuid4().hex}")
    staging.mkdir()
    try:
        build(staging)
        marker = {"kind": kind, "version": version, "note": note}
        _marker(staging, kind).write_text(json.dumps(marker, indent=2) + "\n")
        _retire(target, kind, version)
        try:
            staging.rename(target)
        except OSError:
            # another process won the race (the target now exists): use theirs once it is complete
            if not _wait_for_other_builder(target, kind, version):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target

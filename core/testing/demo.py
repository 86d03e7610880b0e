"""``ensure_demo_models``: build every tiny model once into a cache directory, safely under concurrency."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from tailorgen.errors import TailorgenError
from tailorgen.testing.tiny_clip import build_open_clip
from tailorgen.testing.tiny_coco import build_tiny_coco
from tailorgen.testing.tiny_lm import build_causal_lm
from tailorgen.testing.tiny_sd import build_sd_pipeline

__all__ = ["DEMO_MODELS_VERSION", "build_demo_models", "ensure_demo_models"]

#: bump whenever a builder changes what it writes: caches with another version are rebuilt
DEMO_MODELS_VERSION = 2
_MARKER = "tailorgen-demo-models.json"

_BUILDERS: dict[str, Callable[[Path], Path]] = {
    "sd": build_sd_pipeline,
    "clip-vit": lambda path: build_open_clip(path, "vit"),
    "clip-rn": lambda path: build_open_clip(path, "rn"),
    "lm": build_causal_lm,
    "coco": build_tiny_coco,
}


def _paths(directory: Path) -> dict[str, Path]:
    return {key: directory / key for key in _BUILDERS}


def _is_current(directory: Path) -> bool:
    try:
        marker = json.loads((directory / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("version") == DEMO_MODELS_VERSION


@contextlib.contextmanager
def _quiet_library_progress() -> Iterator[None]:
    """No "Writing model shards" bars from transformers while the tiny models are saved."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def build_demo_models(directory: Path) -> dict[str, Path]:
    """Build every tiny model under ``directory`` (which should be empty) and write the marker last."""
    with _quiet_library_progress():
        for key, path in _paths(directory).items():
            _BUILDERS[key](path)
    marker = {
        "version": DEMO_MODELS_VERSION,
        "models": sorted(_BUILDERS),
        "note": "random weights, tests only",
    }
    (directory / _MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return _paths(directory)


def _wait_for_other_builder(directory: Path, timeout_s: float = 300.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _is_current(directory):
            return True
        time.sleep(0.5)
    return False


def _retire(target: Path) -> None:
    """Move an outdated build out of the way (only ever one of ours: it has the marker, or is empty)."""
    if not target.exists() or _is_current(target):
        return
    if not (target / _MARKER).exists() and any(target.iterdir()):
        raise TailorgenError(
            f"{target} exists and is not a tailorgen demo-models directory",
            "give an empty or new directory",
        )
    stale = target.with_name(f".{target.name}.stale-{os.getpid()}")
    try:
        target.rename(stale)
    except OSError:
        return  # another process moved it first
    shutil.rmtree(stale, ignore_errors=True)


def ensure_demo_models(directory: str | Path) -> dict[str, Path]:
    """Paths (keys ``sd``, ``clip-vit``, ``clip-rn``, ``lm``, ``coco``) of the tiny models in ``directory``.

    Built once: into a temporary sibling that is renamed into place, so a concurrent process (e.g.
    another torchrun rank) sees either nothing or the finished set, never a half-written one.
    A directory written by another version is replaced.
    """
    target = Path(directory).resolve()
    if _is_current(target):
        return _paths(target)
    _retire(target)  # fail before building if the directory is someone else's
    target.parent.mkdir(parents=True, exist_ok=True)
    # a plain mkdir (not mkdtemp, which makes it private): the cache is an ordinary directory
    staging = target.with_name(f".{target.name}.building-{uuid.uuid4().hex}")
    staging.mkdir()
    try:
        build_demo_models(staging)
        _retire(target)
        try:
            staging.rename(target)
        except OSError:
            # Another process won the race (the target now exists): use theirs once it is complete.
            if not _wait_for_other_builder(target):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _paths(target)

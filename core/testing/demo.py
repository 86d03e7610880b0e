"""``ensure_demo_models``: build every tiny model once into a cache directory, safely under concurrency."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from tailorgen.cache import build_once
from tailorgen.testing.tiny_clip import build_open_clip
from tailorgen.testing.tiny_coco import build_tiny_coco
from tailorgen.testing.tiny_lm import build_causal_lm
from tailorgen.testing.tiny_sd import build_sd_pipeline

__all__ = ["DEMO_MODELS_VERSION", "KIND", "build_demo_models", "ensure_demo_models"]

#: bump whenever a builder changes what it writes: caches with another version are rebuilt
DEMO_MODELS_VERSION = 2
#: the cache folder's kind: its marker is ``tailorgen-demo-models.json``
KIND = "demo-models"

_BUILDERS: dict[str, Callable[[Path], Path]] = {
    "sd": build_sd_pipeline,
    "clip-vit": lambda path: build_open_clip(path, "vit"),
    "clip-rn": lambda path: build_open_clip(path, "rn"),
    "lm": build_causal_lm,
    "coco": build_tiny_coco,
}


def _paths(directory: Path) -> dict[str, Path]:
    return {key: directory / key for key in _BUILDERS}


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
    """Build every tiny model under ``directory`` (which should be empty); no cache marker."""
    with _quiet_library_progress():
        for key, path in _paths(directory).items():
            _BUILDERS[key](path)
    return _paths(directory)


def ensure_demo_models(directory: str | Path) -> dict[str, Path]:
    """Paths (keys ``sd``, ``clip-vit``, ``clip-rn``, ``lm``, ``coco``) of the tiny models in ``directory``.

    Built once (:func:`tailorgen.cache.build_once`): safe under concurrency, a directory written by
    another version is replaced, and a folder that holds anything else is refused.
    """
    note = f"random weights, tests only: {', '.join(sorted(_BUILDERS))}"
    return _paths(build_once(directory, KIND, DEMO_MODELS_VERSION, build_demo_models, note))

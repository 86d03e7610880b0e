"""Builders of tiny, randomly initialised, architecture-faithful models (one import for all of them).

Each builder writes to a directory in the layout the real model uses and returns the path, so code
under test loads it through the same ``from_pretrained`` / ``local-dir:`` path as a real checkpoint.
Every builder is seeded: the same call writes the same bytes.
"""

from __future__ import annotations

from tailorgen.testing.clip_tokenizer import build_clip_tokenizer
from tailorgen.testing.tiny_clip import CLIP_IMAGE_SIZE, build_open_clip, open_clip_config
from tailorgen.testing.tiny_coco import TINY_COCO_LABELS, build_tiny_coco
from tailorgen.testing.tiny_lm import CHAT_TEMPLATE, build_causal_lm
from tailorgen.testing.tiny_sd import SD_IMAGE_SIZE, build_sd_pipeline

__all__ = [
    "CHAT_TEMPLATE",
    "CLIP_IMAGE_SIZE",
    "SD_IMAGE_SIZE",
    "TINY_COCO_LABELS",
    "build_causal_lm",
    "build_clip_tokenizer",
    "build_open_clip",
    "build_sd_pipeline",
    "build_tiny_coco",
    "open_clip_config",
]

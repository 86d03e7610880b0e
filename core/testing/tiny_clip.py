"""Tiny open_clip CLIP models (ViT and RN50-shaped ModifiedResNet) in open_clip's ``local-dir:`` layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

__all__ = ["CLIP_IMAGE_SIZE", "build_open_clip", "open_clip_config", "save_open_clip"]

#: input resolution of the tiny CLIPs (a multiple of 32, as ModifiedResNet's attention pool needs)
CLIP_IMAGE_SIZE = 64

_TEXT_CFG: dict[str, Any] = {
    "context_length": 77,
    "vocab_size": 49408,  # the real CLIP BPE vocabulary, so open_clip's tokenizer fits
    "width": 32,
    "heads": 2,
    "layers": 2,
}

_VISION_CFG: dict[str, dict[str, Any]] = {
    # heads = width // head_width: open_clip's default head_width (64) gives zero heads below 64.
    "vit": {"image_size": CLIP_IMAGE_SIZE, "layers": 2, "width": 32, "head_width": 16, "patch_size": 16},
    # RN50 layout (stem, 4 bottleneck stages, attention pool) with 1 block per stage and 8 channels
    # instead of 64: the attention pool gets width * 32 = 256 channels and 256 // head_width heads.
    "rn": {
        "image_size": CLIP_IMAGE_SIZE,
        "layers": [1, 1, 1, 1],
        "width": 8,
        "head_width": 64,
        "patch_size": None,
    },
}


def open_clip_config(arch: Literal["vit", "rn"] = "vit") -> dict[str, Any]:
    """The open_clip model config (``model_cfg``) of a tiny CLIP."""
    if arch not in _VISION_CFG:
        raise ValueError(f"unknown tiny CLIP architecture {arch!r}; use 'vit' or 'rn'")
    return {"embed_dim": 32, "vision_cfg": dict(_VISION_CFG[arch]), "text_cfg": dict(_TEXT_CFG)}


def build_open_clip(directory: str | Path, arch: Literal["vit", "rn"] = "vit", seed: int = 0) -> Path:
    """Write a random tiny CLIP loadable as ``open_clip.create_model_and_transforms("local-dir:" + dir)``."""
    import open_clip
    import torch

    model_cfg = open_clip_config(arch)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**model_cfg)
    if arch == "rn":
        # open_clip zero-initialises every bottleneck's last BatchNorm (bn3), which makes each
        # residual branch a no-op: a trained RN50 has no such dead blocks, so give them unit scale.
        with torch.no_grad():
            for name, param in model.visual.named_parameters():
                if name.endswith("bn3.weight"):
                    param.fill_(1.0)
    return save_open_clip(model, model_cfg, directory)


def save_open_clip(model: Any, model_cfg: dict[str, Any], directory: str | Path) -> Path:
    """Write an ``open_clip.CLIP`` in the ``local-dir:`` layout (config + safetensors weights)."""
    import open_clip
    from safetensors.torch import save_file
    from tailorgen.io import atomic_path, atomic_write_text

    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    # The same two files open_clip's own `save_for_hf` writes (minus the HF tokenizer, which
    # `local-dir:` does not need: without `hf_tokenizer_name` it uses its bundled CLIP BPE).
    with atomic_path(path / "open_clip_model.safetensors") as tmp:  # save_file alone: in place, 0600
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    config = {
        "model_cfg": model_cfg,
        "preprocess_cfg": {
            "mean": list(open_clip.OPENAI_DATASET_MEAN),
            "std": list(open_clip.OPENAI_DATASET_STD),
        },
    }
    atomic_write_text(path / "open_clip_config.json", json.dumps(config, indent=2) + "\n")
    return path

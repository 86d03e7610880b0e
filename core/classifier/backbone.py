"""Open_clip CLIP backbones: load one with its weights, or rebuild one offline from its config."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tailorgen.classifier.clip_activation import pretrained_uses_quick_gelu
from tailorgen.errors import TailorgenError

__all__ = ["build_clip", "check_architecture", "load_backbone", "preprocess_of"]

_LOCAL = "local-dir:"
_HUB = "hf-hub:"


def _model_config(backbone: str, pretrained: str | None) -> dict[str, Any]:
    """The open_clip model config (tower architecture) that ``backbone`` names."""
    import open_clip

    if backbone.startswith(_LOCAL):
        path = Path(backbone[len(_LOCAL) :]) / "open_clip_config.json"
        if not path.is_file():
            raise TailorgenError(
                f"backbone {backbone!r}: {path} not found", "point local-dir: at an open_clip model dir"
            )
        cfg = json.loads(path.read_text()).get("model_cfg")
    elif backbone.startswith(_HUB):
        from open_clip.factory import _get_hf_config

        cfg = _get_hf_config(backbone[len(_HUB) :]).get("model_cfg")
    else:
        cfg = open_clip.get_model_config(backbone)
        if cfg is not None and pretrained_uses_quick_gelu(backbone, pretrained):
            cfg = {**cfg, "quick_gelu": True}  # the weights were trained with QuickGELU
    if not cfg:
        raise TailorgenError(
            f"backbone {backbone!r} has no open_clip model config",
            "use an open_clip model name (e.g. RN50), hf-hub:<repo> or local-dir:<path>",
        )
    return copy.deepcopy(cfg)


def check_architecture(model_cfg: dict[str, Any]) -> None:
    """Refuse, from the config alone, a CLIP whose towers the classifier cannot use."""
    text_cfg, vision_cfg = model_cfg.get("text_cfg", {}), model_cfg.get("vision_cfg", {})
    if "hf_model_name" in text_cfg or model_cfg.get("custom_text"):
        raise TailorgenError(
            "the classifier needs a CLIP with open_clip's own text tower", "use an RN50-style CLIP"
        )
    # open_clip builds a ModifiedResNet exactly when vision_cfg.layers is a list of stage depths.
    if "timm_model_name" in vision_cfg or not isinstance(vision_cfg.get("layers"), list | tuple):
        raise TailorgenError(
            "the classifier needs a ModifiedResNet image tower (this CLIP has a ViT or timm tower)",
            "use an RN50-family CLIP backbone, e.g. RN50 with pretrained openai",
        )


def build_clip(model_cfg: dict[str, Any]) -> Any:
    """A randomly initialised CLIP with exactly this architecture (no network, no weights)."""
    from open_clip.model import CLIP

    check_architecture(model_cfg)
    return CLIP(**{k: v for k, v in copy.deepcopy(model_cfg).items() if k != "custom_text"})


def preprocess_of(model: Any) -> dict[str, Any]:
    """Eval preprocessing of an open_clip model, as plain JSON values."""
    cfg = dict(getattr(model.visual, "preprocess_cfg", {}) or {})
    size = cfg.get("size", model.visual.image_size)
    return {
        "image_size": int(size if isinstance(size, int) else size[0]),
        "mean": [float(v) for v in cfg.get("mean", (0.48145466, 0.4578275, 0.40821073))],
        "std": [float(v) for v in cfg.get("std", (0.26862954, 0.26130258, 0.27577711))],
        "interpolation": str(cfg.get("interpolation", "bicubic")),
    }


def load_backbone(backbone: str, pretrained: str | None = None) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(CLIP model with its pretrained weights, its model config, its preprocessing)."""
    import open_clip

    model_cfg = _model_config(backbone, pretrained)
    check_architecture(model_cfg)  # fail before any download
    force = (
        {"force_quick_gelu": True} if model_cfg.get("quick_gelu") and not backbone.startswith(_LOCAL) else {}
    )
    try:
        model = open_clip.create_model(backbone, pretrained=pretrained, **force)
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        raise TailorgenError(f"cannot load backbone {backbone!r}: {exc}") from None
    return model, model_cfg, preprocess_of(model)

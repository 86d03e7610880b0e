"""Which activation a named open_clip CLIP's pretrained weights were trained with."""

from __future__ import annotations

__all__ = ["pretrained_uses_quick_gelu"]


def pretrained_uses_quick_gelu(model: str, pretrained: str | None) -> bool:
    """True when the pretrained tag's weights need QuickGELU (OpenAI's CLIPs).

    open_clip's plain configs (``RN50``, ``ViT-B-32``) use GELU and only warn about the mismatch, so
    the activation must follow the tag. ``hf-hub:`` and ``local-dir:`` configs say it themselves.
    """
    if not pretrained or model.startswith(("hf-hub:", "local-dir:")):
        return False
    import open_clip

    return bool(open_clip.get_pretrained_cfg(model, pretrained).get("quick_gelu", False))

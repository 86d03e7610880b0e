"""The ``clip-zeroshot`` baseline: plain CLIP similarity to prompt-template text embeddings, no training.

Each label's text embedding is the normalised mean over the templates (CLIP's zero-shot recipe);
an image's score for a label is ``100 * cos`` of the global image embedding and that text embedding.
"""

from __future__ import annotations

import functools
from typing import Any

from tailorgen.errors import TailorgenError

__all__ = ["DEFAULT_TEMPLATES", "ClipZeroShot", "split_backbone"]

DEFAULT_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a photo of the {}.",
    "a photo of many {}.",
    "a cropped photo of a {}.",
    "a close-up photo of a {}.",
    "a good photo of a {}.",
)


def split_backbone(backbone: str) -> tuple[str, str | None]:
    """``"RN50:openai"`` -> ``("RN50", "openai")``; ``local-dir:``/``hf-hub:`` names stay whole."""
    if backbone.startswith(("local-dir:", "hf-hub:")):
        return backbone, None
    name, _, tag = backbone.partition(":")
    return name, tag or None


class ClipZeroShot:
    """An open_clip model (name + pretrained tag, ``hf-hub:`` or ``local-dir:``) scoring label names."""

    def __init__(
        self,
        model: str,
        pretrained: str | None = None,
        templates: tuple[str, ...] = DEFAULT_TEMPLATES,
        device: Any = "cpu",
    ) -> None:
        if not templates or any("{}" not in t for t in templates):
            raise TailorgenError(
                f"prompt templates {list(templates)} must each contain {{}}", "e.g. 'a photo of a {}.'"
            )
        self.model_name = model
        self.pretrained = None if model.startswith(("local-dir:", "hf-hub:")) else pretrained
        self.templates = tuple(templates)
        self.device = device

    @property
    def source(self) -> str:
        return f"{self.model_name}:{self.pretrained}" if self.pretrained else self.model_name

    @functools.cached_property
    def _loaded(self) -> tuple[Any, Any, Any]:
        import open_clip
        from tailorgen.classifier.clip_activation import pretrained_uses_quick_gelu

        try:
            model, _, transform = open_clip.create_model_and_transforms(
                self.model_name,
                pretrained=self.pretrained,
                force_quick_gelu=pretrained_uses_quick_gelu(self.model_name, self.pretrained),
            )
            tokenizer = open_clip.get_tokenizer(self.model_name)
        except (OSError, RuntimeError, ValueError) as exc:
            raise TailorgenError(
                f"clip-zeroshot: cannot load {self.source!r}: {exc}",
                "set evaluate.clip_model to an open_clip name, hf-hub:ORG/REPO or local-dir:PATH",
            ) from None
        return model.to(self.device).eval().requires_grad_(False), transform, tokenizer

    @property
    def transform(self) -> Any:
        """open_clip's eval transform (antialiased resize, centre crop, CLIP mean/std) for PIL images."""
        return self._loaded[1]

    def text_embeddings(self, label_names: list[str]) -> Any:
        """(C, D) normalised mean of the normalised template embeddings of each label."""
        import torch

        model, _, tokenizer = self._loaded
        prompts = [t.format(name) for name in label_names for t in self.templates]
        with torch.no_grad():
            emb = torch.nn.functional.normalize(
                model.encode_text(tokenizer(prompts).to(self.device)).float(), dim=-1
            )
        mean = emb.view(len(label_names), len(self.templates), -1).mean(dim=1)
        return torch.nn.functional.normalize(mean, dim=-1)

    def logits(self, images: Any, text: Any) -> Any:
        """``100 * cos`` (B, C) of preprocessed images (B, 3, S, S) against ``text_embeddings(...)``."""
        import torch

        with torch.no_grad():
            feats = torch.nn.functional.normalize(
                self._loaded[0].encode_image(images.to(self.device)).float(), dim=-1
            )
        return 100 * feats @ text.T

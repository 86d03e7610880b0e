"""Discriminator ``open-clip``: CLIP logits ``100 * cos`` (or the model's own scale) from any open_clip model."""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field
from tailorgen.errors import PluginError
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import DifferentiableDiscriminator, Discriminator
from tailorgen.synthetic.rule import AcceptanceRule

__all__ = ["OpenClipDiscriminator", "OpenClipOptions", "register_discriminators", "uses_quick_gelu"]


class OpenClipOptions(AcceptanceRule):
    model: str = Field("ViT-B-32", description="open_clip model name, or hf-hub:ORG/REPO, or local-dir:PATH.")
    pretrained: str | None = Field("openai", description="Pretrained tag (ignored for hf-hub:/local-dir:).")
    prompt_template: str = Field("{}", description="Text for a label; the method scores bare names ('{}').")
    batch_size: int = Field(64, ge=1, description="Images per forward pass.")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps.")
    dtype: str = Field("float32", description="float32, float16 or bfloat16 (auto: fp16 on CUDA).")
    logit_scale: float | Literal["model"] = Field(
        100.0,
        description=(
            "Logits are logit_scale * cosine. 100 is the method's (a real CLIP's learned scale); "
            "'model' uses the checkpoint's learned scale, for CLIPs trained to a much smaller one."
        ),
    )
    quick_gelu: bool | None = Field(
        None,
        description="QuickGELU activations; null: what the pretrained tag was trained with (OpenAI: yes).",
    )


class OpenClipDiscriminator(Discriminator, DifferentiableDiscriminator):
    """Frozen CLIP scoring images against label names; text embeddings cached per label list."""

    name: ClassVar[str] = "open-clip"
    description: ClassVar[str] = "open_clip CLIP (default ViT-B-32 openai) with the grouping-softmax filter."
    Options: ClassVar[type[BaseModel]] = OpenClipOptions
    options: OpenClipOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._text_cache: dict[tuple[str, ...], Any] = {}

    @functools.cached_property
    def device(self) -> Any:
        from tailorgen.runtime.devices import resolve_device

        return resolve_device(self.options.device)

    @functools.cached_property
    def _loaded(self) -> tuple[Any, Any, Any]:
        import open_clip

        opts = self.options
        remote = opts.model.startswith(("hf-hub:", "local-dir:"))
        try:
            model, _, transform = open_clip.create_model_and_transforms(
                opts.model,
                pretrained=None if remote else opts.pretrained,
                force_quick_gelu=uses_quick_gelu(opts),
            )
            tokenizer = open_clip.get_tokenizer(opts.model)
        except (OSError, RuntimeError, ValueError) as exc:
            what = opts.model if remote else f"{opts.model} (pretrained {opts.pretrained!r})"
            raise PluginError(
                f"open-clip: cannot load {what}: {exc}",
                "see `open_clip.list_pretrained()`, or use hf-hub:ORG/REPO or local-dir:PATH",
            ) from None
        from tailorgen.runtime.devices import resolve_dtype

        model = model.to(device=self.device, dtype=resolve_dtype(opts.dtype, self.device)).eval()
        model.requires_grad_(False)
        return model, transform, tokenizer

    @property
    def model(self) -> Any:
        return self._loaded[0]

    @property
    def transform(self) -> Any:
        """open_clip's eval transform for PIL images: bicubic resize (antialiased), center crop, CLIP mean/std."""
        return self._loaded[1]

    def text_embeddings(self, label_names: list[str]) -> Any:
        """Normalised text embeddings (C, D) of the label names, computed once per label list."""
        import torch

        key = tuple(label_names)
        if key not in self._text_cache:
            tokens = self._loaded[2]([self.options.prompt_template.format(n) for n in label_names])
            with torch.no_grad():
                emb = self.model.encode_text(tokens.to(self.device)).float()
            self._text_cache[key] = torch.nn.functional.normalize(emb, dim=-1)
        return self._text_cache[key]

    def _logits(self, pixels: Any, label_names: list[str]) -> Any:
        from tailorgen.synthetic.scoring import clip_logits

        dtype = next(self.model.parameters()).dtype
        feats = self.model.encode_image(pixels.to(device=self.device, dtype=dtype)).float()
        return clip_logits(feats, self.text_embeddings(label_names), self.logit_scale)

    @property
    def logit_scale(self) -> float:
        """The factor on cosine similarities: the option's number, or the model's learned scale."""
        if self.options.logit_scale == "model":
            return float(self.model.logit_scale.exp())
        return float(self.options.logit_scale)

    def score(self, images: list[Any], label_names: list[str]) -> Any:
        """CLIP logits (len(images), len(label_names)) on CPU, float32, for PIL images."""
        import torch

        rows = []
        for start in range(0, len(images), self.options.batch_size):
            chunk = images[start : start + self.options.batch_size]
            pixels = torch.stack([self.transform(img.convert("RGB")) for img in chunk])
            with torch.no_grad():
                rows.append(self._logits(pixels, label_names).cpu())
        if not rows:
            return torch.zeros(0, len(label_names))
        return torch.cat(rows)

    def score_tensors(self, images: Any, label_names: list[str]) -> Any:
        """Differentiable logits for images (B, 3, H, W) in [0, 1]: antialiased resize, crop, normalise."""
        from tailorgen.plugins.clip_pixels import clip_preprocess_tensors

        return self._logits(clip_preprocess_tensors(images, self.model), label_names)


def uses_quick_gelu(opts: OpenClipOptions) -> bool:
    """The ``quick_gelu`` option, else what the pretrained tag was trained with (OpenAI's: QuickGELU)."""
    from tailorgen.classifier.clip_activation import pretrained_uses_quick_gelu

    if opts.quick_gelu is not None:
        return opts.quick_gelu
    return pretrained_uses_quick_gelu(opts.model, opts.pretrained)


@hookimpl
def register_discriminators(register: Any) -> None:
    register(OpenClipDiscriminator)

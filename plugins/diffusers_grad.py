"""L_TE capability for generators built on a diffusers text-to-image ``.pipeline``.

A mixin: a generator class that exposes ``self.pipeline`` (a Stable-Diffusion-style pipeline with
tokenizer, text encoder, UNet, VAE and scheduler) adds it to its bases to become a
:class:`~tailorgen.registry.roles.DifferentiableGenerator`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from tailorgen.errors import PluginError
from tailorgen.registry.roles import DifferentiableGenerator

__all__ = ["DiffusersGradMixin"]

_COMPONENTS = ("tokenizer", "text_encoder", "unet", "vae", "scheduler")


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    # transformers draws a "Writing model shards" bar on every save; keep the stage's own bar clean
    from transformers.utils import logging

    was_disabled = logging.is_progress_bar_enabled() is False
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if not was_disabled:
            logging.enable_progress_bar()


class DiffusersGradMixin(DifferentiableGenerator):
    """Differentiable CFG sampling through ``self.pipeline``; only its text encoder trains (fp32)."""

    pipeline: Any

    def _grad_pipeline(self) -> Any:
        if getattr(getattr(self, "options", None), "offload", "none") != "none":
            raise PluginError(
                "diffusers: text-encoder fine-tuning needs the UNet and VAE resident on the device",
                "set the generator option offload = 'none' for the finetune stage",
            )
        pipe = self.pipeline
        missing = [name for name in _COMPONENTS if getattr(pipe, name, None) is None]
        if missing:
            raise PluginError(
                f"generator {getattr(self, 'name', type(self).__name__)!r}: pipeline "
                f"{type(pipe).__name__} has no {', '.join(missing)}, so its text encoder cannot be fine-tuned",
                "use a Stable-Diffusion-style text-to-image pipeline (one CLIP text encoder)",
            )
        return pipe

    def trainable_text_encoder(self) -> Any:
        import torch

        pipe = self._grad_pipeline()
        for frozen in (pipe.unet, pipe.vae):
            frozen.requires_grad_(False)
            frozen.eval()
        encoder = pipe.text_encoder.to(torch.float32)  # trains in fp32 even when the rest is half
        encoder.requires_grad_(True)
        encoder.train()
        return encoder

    def sample_with_grad(self, prompts: list[str], negative_prompt: str, seed: int, **sampling: Any) -> Any:
        from tailorgen.finetune.sampler import SamplingOptions, sample_with_grad

        allowed = {f.name for f in fields(SamplingOptions)}
        unknown = sorted(set(sampling) - allowed)
        if unknown:
            raise PluginError(
                f"unknown sampling option(s) {', '.join(unknown)}", f"allowed: {', '.join(sorted(allowed))}"
            )
        try:
            return sample_with_grad(
                self._grad_pipeline(), prompts, negative_prompt, seed, SamplingOptions(**sampling)
            )
        except ValueError as exc:
            raise PluginError(f"differentiable sampling failed: {exc}") from None

    def save_text_encoder(self, directory: Any) -> Path:
        target = Path(directory)
        with _quiet_transformers():
            self._grad_pipeline().text_encoder.save_pretrained(str(target))
        return target

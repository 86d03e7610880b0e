"""Classifier-free-guided diffusion sampling with gradients into the text encoder.

The whole scheduler loop runs with autograd on, so L_TE on the decoded image reaches the prompt
embeddings through every UNet step. Each UNet call (and the VAE decode) is wrapped in non-reentrant
activation checkpointing: only its inputs are kept, and its activations are recomputed during the
backward pass, so peak memory is one UNet step's activations plus a few latents per step instead of
every step's activations. The scheduler update stays outside the checkpoint because schedulers keep
internal state (``step_index``) that a recomputation must not advance twice.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

__all__ = ["SamplingOptions", "encode_text", "sample_with_grad"]


@dataclass(frozen=True)
class SamplingOptions:
    """How to sample: the paper's L_TE defaults are 30 steps at 560 px with CFG 7.5."""

    steps: int = 30
    height: int = 560
    width: int = 560
    guidance_scale: float = 7.5
    checkpoint_steps: bool = True
    #: also checkpoint inside the UNet and VAE blocks (less memory, about one more forward of compute)
    checkpoint_blocks: bool = False


def encode_text(pipeline: Any, texts: list[str]) -> torch.Tensor:
    """Prompt embeddings (B, 77, D) from the pipeline's tokenizer and text encoder, with autograd."""
    tokens = pipeline.tokenizer(
        texts,
        padding="max_length",
        max_length=pipeline.tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    )
    encoder = pipeline.text_encoder
    mask = tokens.attention_mask if getattr(encoder.config, "use_attention_mask", False) else None
    device = next(encoder.parameters()).device
    return encoder(tokens.input_ids.to(device), attention_mask=None if mask is None else mask.to(device))[0]


def _fresh_scheduler(pipeline: Any) -> Any:
    # a new instance per sample: no step_index or sigma state carries over between samples
    return type(pipeline.scheduler).from_config(pipeline.scheduler.config)


def _initial_latents(pipeline: Any, batch: int, options: SamplingOptions, seed: int) -> torch.Tensor:
    scale = pipeline.vae_scale_factor
    if options.height % scale or options.width % scale:
        raise ValueError(
            f"height and width must be multiples of {scale}, got {options.height}x{options.width}"
        )
    shape = (batch, pipeline.unet.config.in_channels, options.height // scale, options.width // scale)
    generator = torch.Generator("cpu").manual_seed(seed)  # CPU generator: same latents on every device
    return torch.randn(shape, generator=generator, dtype=torch.float32)


def _guided_noise(
    unet: Any, latent_in: torch.Tensor, t: torch.Tensor, embeds: torch.Tensor, guidance: float
) -> torch.Tensor:
    noise = unet(latent_in, t, encoder_hidden_states=embeds, return_dict=False)[0].float()
    uncond, cond = noise.chunk(2)
    return uncond + guidance * (cond - uncond)


def _decode(vae: Any, latents: torch.Tensor) -> torch.Tensor:
    latents = latents / vae.config.scaling_factor + (getattr(vae.config, "shift_factor", None) or 0.0)
    images = vae.decode(latents.to(vae.dtype), return_dict=False)[0].float()
    return (images / 2 + 0.5).clamp(0, 1)


def _set_block_checkpointing(module: Any, enabled: bool) -> None:
    if getattr(module, "_supports_gradient_checkpointing", False):
        module.enable_gradient_checkpointing() if enabled else module.disable_gradient_checkpointing()


def sample_with_grad(
    pipeline: Any,
    prompts: list[str],
    negative_prompt: str,
    seed: int,
    options: SamplingOptions | None = None,
) -> torch.Tensor:
    """Images (B, 3, H, W) in [0, 1] for ``prompts``, differentiable w.r.t. the text encoder.

    Latents come from a CPU generator seeded with ``seed``. ``pipeline`` is a diffusers
    text-to-image pipeline with ``tokenizer``, ``text_encoder``, ``unet``, ``vae`` and ``scheduler``.
    """
    options = options or SamplingOptions()
    unet, vae = pipeline.unet, pipeline.vae
    device, dtype = unet.device, unet.dtype
    for module in (unet, vae):
        _set_block_checkpointing(module, options.checkpoint_blocks)

    cond = encode_text(pipeline, prompts)
    uncond = encode_text(pipeline, [negative_prompt] * len(prompts))
    embeds = torch.cat([uncond, cond]).to(device=device, dtype=dtype)

    scheduler = _fresh_scheduler(pipeline)
    scheduler.set_timesteps(options.steps, device=device)
    generator = torch.Generator("cpu").manual_seed(seed + 1)
    extra = {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}
    latents = (_initial_latents(pipeline, len(prompts), options, seed) * scheduler.init_noise_sigma).to(
        device
    )

    for t in scheduler.timesteps:
        latent_in = scheduler.scale_model_input(torch.cat([latents, latents]), t).to(dtype)
        args = (unet, latent_in, t, embeds, options.guidance_scale)
        if options.checkpoint_steps:
            noise = checkpoint(_guided_noise, *args, use_reentrant=False)
        else:
            noise = _guided_noise(*args)
        latents = scheduler.step(noise, t, latents, **extra, return_dict=False)[0]

    if options.checkpoint_steps:
        return checkpoint(_decode, vae, latents, use_reentrant=False)
    return _decode(vae, latents)

"""A tiny Stable Diffusion pipeline (UNet, VAE, CLIP text encoder, real CLIP tokenizer, Euler)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailorgen.testing.clip_tokenizer import build_clip_tokenizer

__all__ = ["SD_IMAGE_SIZE", "build_sd_pipeline", "save_sd_pipeline", "sd_text_encoder", "sd_vae"]

#: native resolution of the tiny pipeline (the VAE downsamples by 4, so latents are 16x16)
SD_IMAGE_SIZE = 64
_TEXT_WIDTH = 32


def sd_text_encoder(*, width: int = _TEXT_WIDTH, intermediate_size: int = 64, layers: int = 2) -> Any:
    """A randomly initialised CLIP text encoder with CLIP's real vocabulary and special tokens."""
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=49408,
        hidden_size=width,
        intermediate_size=intermediate_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=width,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )
    return CLIPTextModel(config)


def _unet():  # type: ignore[no-untyped-def]
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=SD_IMAGE_SIZE // 4,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(16, 32),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=_TEXT_WIDTH,
        attention_head_dim=4,
        norm_num_groups=8,
    )


def sd_vae(
    *, block_out_channels: tuple[int, int, int] = (8, 16, 16), sample_size: int = SD_IMAGE_SIZE
) -> Any:
    """A randomly initialised SD-style AutoencoderKL that downsamples by 4 (three blocks)."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=block_out_channels,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=sample_size,
    )


def build_sd_pipeline(directory: str | Path, seed: int = 0) -> Path:
    """Write a randomly initialised ``StableDiffusionPipeline`` (safetensors) to ``directory``."""
    import torch

    torch.manual_seed(seed)
    return save_sd_pipeline(directory, vae=sd_vae(), text_encoder=sd_text_encoder(), unet=_unet())


def save_sd_pipeline(directory: str | Path, *, vae: Any, text_encoder: Any, unet: Any) -> Path:
    """Save the three models as a ``StableDiffusionPipeline`` with the CLIP tokenizer and SD's Euler."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=build_clip_tokenizer(),
        unet=unet,
        # Stable Diffusion's own noise schedule, so samplers behave as with a real checkpoint.
        scheduler=EulerDiscreteScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            num_train_timesteps=1000,
            steps_offset=1,
        ),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    path = Path(directory)
    pipe.save_pretrained(str(path), safe_serialization=True)
    return path

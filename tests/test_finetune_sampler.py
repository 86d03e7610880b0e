"""The differentiable sampler draws what the diffusers pipeline draws for the same seed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tailorgen.finetune.sampler import SamplingOptions, sample_with_grad


@pytest.mark.parametrize("scheduler", ["EulerDiscreteScheduler", "DDIMScheduler"])
def test_matches_the_pipeline_output(demo_models: dict[str, Path], scheduler: str) -> None:
    import diffusers

    pipe = diffusers.StableDiffusionPipeline.from_pretrained(demo_models["sd"], use_safetensors=True)
    pipe.scheduler = getattr(diffusers, scheduler).from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    prompts = ["a cow next to a bus on a road", "a cat on a sofa"]
    expected = pipe(
        prompts,
        negative_prompt=["watermark"] * 2,
        num_inference_steps=3,
        guidance_scale=5.0,
        height=32,
        width=32,
        generator=torch.Generator().manual_seed(11),
        output_type="pt",
    ).images
    options = SamplingOptions(steps=3, height=32, width=32, guidance_scale=5.0)
    with torch.no_grad():
        ours = sample_with_grad(pipe, prompts, "watermark", 11, options)
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-5)
    # a second call starts from a fresh scheduler state: same seed, same images
    with torch.no_grad():
        torch.testing.assert_close(sample_with_grad(pipe, prompts, "watermark", 11, options), ours)

"""The committed shapes-world weights (benchmarks/shapes/weights) load through the plugins and work."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from tailorgen.registry import create_discriminator, create_generator
from tailorgen.testing.shapes import SHAPES, render, sample_scene

WEIGHTS = Path(__file__).resolve().parents[1] / "benchmarks" / "shapes" / "weights"


def test_weights_are_committed() -> None:
    assert all((WEIGHTS / part).is_dir() for part in ("clip", "sd"))


def test_weights_are_safetensors_and_small() -> None:
    files = [p for p in WEIGHTS.rglob("*") if p.is_file()]
    weights = [p for p in files if p.suffix in {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl"}]
    assert weights
    assert all(p.suffix == ".safetensors" for p in weights)
    assert sum(p.stat().st_size for p in files) < 30 * 2**20


def test_pretrained_clip_recognises_every_shape() -> None:
    """Zero-shot on fresh pretraining-domain scenes of one shape: far above chance (1/12)."""
    discriminator = create_discriminator("open-clip", model=f"local-dir:{WEIGHTS / 'clip'}", device="cpu")
    rng = random.Random(123)
    images = [render(sample_scene(rng, "pretrain", shapes=[s])) for s in SHAPES for _ in range(3)]
    scores = torch.as_tensor(discriminator.score(images, list(SHAPES)))
    truth = torch.arange(len(SHAPES)).repeat_interleave(3)
    assert (scores.argmax(1) == truth).float().mean() > 0.3  # chance: 0.083


def test_generator_loads_the_pipeline_unchanged() -> None:
    generator = create_generator(
        "diffusers",
        model=str(WEIGHTS / "sd"),
        height=32,
        width=32,
        num_inference_steps=2,
        negative_prompt="",
        device="cpu",
    )
    images = generator.generate(["a red star"], seeds=[0])
    again = generator.generate(["a red star"], seeds=[0])
    assert images[0].size == (32, 32)
    assert images[0].tobytes() == again[0].tobytes()

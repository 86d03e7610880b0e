"""The committed shapes-world weights (benchmarks/shapes/weights) load through the plugins and work."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _clip() -> Any:
    return create_discriminator("open-clip", model=f"local-dir:{WEIGHTS / 'clip'}", device="cpu")


def _top1(images: list[Any], truth: torch.Tensor) -> float:
    scores = torch.as_tensor(_clip().score(images, list(SHAPES)))
    return float((scores.argmax(1) == truth).float().mean())


def test_pretrained_clip_recognises_shapes_in_both_domains() -> None:
    """Zero-shot top-1 on fresh one-shape scenes: far above chance (1/12) in both domains."""
    rng = random.Random(123)
    truth = torch.arange(len(SHAPES)).repeat_interleave(3)
    for domain, floor in (("pretrain", 0.5), ("target", 0.35)):
        images = [render(sample_scene(rng, domain, shapes=[s])) for s in SHAPES for _ in range(3)]
        assert _top1(images, truth) > floor, domain


def _generator(**options: Any) -> Any:
    settings = {"height": 64, "width": 64, "negative_prompt": "", "device": "cpu", **options}
    return create_generator("diffusers", model=str(WEIGHTS / "sd"), **settings)


def test_generator_loads_the_pipeline_unchanged() -> None:
    generator = _generator(num_inference_steps=2)
    images = generator.generate(["a red star"], seeds=[0])
    again = generator.generate(["a red star"], seeds=[0])
    assert images[0].size == (64, 64)
    assert images[0].tobytes() == again[0].tobytes()


def test_generator_draws_the_prompted_shape() -> None:
    """The pretrained CLIP names the shape of "a <shape>" images far more often than chance (1/12)."""
    generator = _generator(num_inference_steps=12, guidance_scale=2.0, batch_size=24)
    prompts = [f"a {shape}" for shape in SHAPES for _ in range(4)]
    images = generator.generate(prompts, seeds=list(range(len(prompts))))
    assert (
        _top1(images, torch.arange(len(SHAPES)).repeat_interleave(4)) > 0.4
    )  # measured 0.56; the previous generator: 0.15


def test_pretraining_script_runs_and_resumes(tmp_path: Path) -> None:
    """Two steps per part (``--smoke``) write both models in the layout the committed ones use."""
    script = WEIGHTS.parent / "pretrain.py"
    command = [sys.executable, str(script), "--smoke", "--pairs", "40", "--out", str(tmp_path / "out")]
    command += ["--work", str(tmp_path / "work")]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for part in ("clip/open_clip_config.json", "sd/model_index.json", "sd/unet/config.json"):
        assert (tmp_path / "out" / part).is_file(), part
    assert json.loads((tmp_path / "work" / "unet" / "checkpoint.json").read_text()) == {"step": 2}
    generator = create_generator(
        "diffusers",
        model=str(tmp_path / "out" / "sd"),
        height=64,
        width=64,
        num_inference_steps=1,
        negative_prompt="",
        device="cpu",
    )
    assert generator.generate(["a star"], seeds=[0])[0].size == (64, 64)
    again = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]  # finished parts resume as done

"""Helpers for the generate-stage tests: a tiny run config, hand-written prompts, data set snapshots."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomli_w

PROMPT_SETS: dict[tuple[str, ...], list[str]] = {
    ("bus",): ["a red bus parked on a quiet street at dawn", "a crowded bus crossing a bridge in the rain"],
    ("cat",): ["a ginger cat sleeping on a sunny windowsill", "a cat chasing a ball in a small kitchen"],
    ("cow",): ["a cow grazing in a green alpine meadow", "a brown cow standing in a muddy farmyard"],
    ("elephant",): ["an elephant bathing in a wide river", "an elephant walking across a dusty savanna"],
    ("bus", "cat"): ["a cat sitting next to a bus at a city stop", "a bus passing a cat on a village road"],
    ("cat", "cow"): ["a cat next to a cow in a barn full of hay", "a cow watching a cat on a farm fence"],
}


def write_prompts(run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    rows = [
        {"labels": list(labels), "text": text, "accepted": True}
        for labels, texts in PROMPT_SETS.items()
        for text in texts
    ]
    rows.append({"labels": ["bus"], "text": "gibberish", "accepted": False})  # rejected: never drawn
    (run_dir / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_config(
    path: Path,
    models: dict[str, Path],
    generate: dict[str, Any] | None = None,
    discriminator: dict[str, Any] | None = None,
    generator: dict[str, Any] | None = None,
) -> Path:
    config = {
        "labels": str(models["coco"] / "labels.json"),
        "run": {"name": "t", "seed": 7, "device": "cpu"},
        "generator": {
            "plugin": "diffusers",
            "options": {
                "model": str(models["sd"]),
                "height": 32,
                "width": 32,
                "num_inference_steps": 2,
                "batch_size": 2,
                **(generator or {}),
            },
        },
        "discriminator": {
            "plugin": "open-clip",
            "options": {"model": f"local-dir:{models['clip-vit']}", **(discriminator or {})},
        },
        "generate": {"quota": 2, "max_attempts_per_label": 6, **(generate or {})},
    }
    path.write_text(tomli_w.dumps(config))
    return path


def snapshot(run_dir: Path) -> dict[str, str]:
    """relative path -> sha256 of every data set file (hidden journal files excluded)."""
    root = run_dir / "synthetic"
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def cli_env() -> dict[str, str]:
    # one thread everywhere: torchrun uses one per process, and kernels must match bit for bit
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TAILORGEN_QUIET": "1"}


def run_cli(
    *args: str, launcher: list[str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    cmd = [*(launcher or [sys.executable]), "-m", "tailorgen", *args]
    return subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=timeout, check=False)

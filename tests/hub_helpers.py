"""Shared by the tests/test_hub_*.py files: a tiny finished run directory and CLI runs against a loopback Hub."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomli_w
from tailorgen.io import append_jsonl, atomic_write_json
from tailorgen.testing.hub_server import HubServer

TOKEN = "hf_FAKEtokenFORtailorgenTESTS0123456789"
USER = "alice"
LABELS = ["cat", "dog", "bicycle", "umbrella"]
SEEN = ["cat", "dog"]
UNSEEN = ["bicycle", "umbrella"]


def build_classifier(clip_dir: Path, out: Path) -> Any:
    import torch
    from tailorgen.classifier import Classifier

    torch.manual_seed(0)
    model = Classifier.build("local-dir:" + str(clip_dir), LABELS, n_ctx=4, seen=SEEN, unseen=UNSEEN)
    with torch.no_grad():  # learned contexts that differ from the init, so a bad load would show
        for p in model.context_parameters():
            p.add_(torch.randn_like(p))
    model.eval()
    model.save_pretrained(out)
    return model


def write_images(folder: Path, n: int, size: int = 32) -> list[dict[str, Any]]:
    from PIL import Image

    rows = []
    for i in range(n):
        name = f"images/{i:06d}.png"
        (folder / "images").mkdir(parents=True, exist_ok=True)
        colour = (40 * i % 256, 90 * i % 256, 150)
        Image.new("RGB", (size, size), colour).save(folder / name)
        targets = [UNSEEN[i % 2]] if i % 3 else UNSEEN
        rows.append(
            {
                "file_name": name,
                "labels": targets,
                "targets": targets,
                "accepted": i % 4 != 3,
                "prompt": f"photo {i}",
                "seed": 1000 + i,
                "scores": {u: round(0.1 * (i % 10), 2) for u in UNSEEN},
            }
        )
    return rows


def make_run(root: Path, clip_dir: Path, *, n_images: int = 8, text_encoder: bool = True) -> Path:
    """A run directory as the stages leave it: config, manifest, classifier, eval, synthetic images."""
    root.mkdir(parents=True, exist_ok=True)
    labels = {
        "name": "pets-and-things",
        "labels": [{"name": n, "split": "seen" if n in SEEN else "unseen"} for n in LABELS],
    }
    config = {
        "labels": labels,
        "run": {"name": "tiny", "seed": 0},
        "prompt_writer": {"plugin": "template", "options": {}},
        "generator": {
            "plugin": "diffusers",
            "options": {"model": "example-org/base-diffusion", "steps": 4},
        },
        "discriminator": {
            "plugin": "open-clip",
            "options": {"model": "ViT-B-32", "pretrained": "openai", "rule": "strict", "threshold": 0.6},
        },
        "evaluate": {"dataset": "coco", "split": "test"},
    }
    (root / "config.toml").write_text(tomli_w.dumps(config))
    build_classifier(clip_dir, root / "classifier")
    atomic_write_json(
        root / "eval.json",
        {
            "dataset": "coco",
            "split": "test",
            "n_images": 20,
            "zsl": {"mAP": 0.41, "F1@3": 0.37},
            "gzsl": {"mAP": 0.22},
        },
    )
    append_jsonl(root / "synthetic" / "metadata.jsonl", write_images(root / "synthetic", n_images))
    if text_encoder:
        from transformers import CLIPTextConfig, CLIPTextModel

        cfg = CLIPTextConfig(
            vocab_size=100,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=16,
        )
        CLIPTextModel(cfg).save_pretrained(root / "finetune" / "text_encoder")
    return root


def cli(
    hub: HubServer,
    *args: str,
    token: str | None = TOKEN,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``tailorgen ARGS`` in a fresh process whose huggingface_hub talks to ``hub``."""
    env = hub.env(token) | {"TAILORGEN_QUIET": "1", "OMP_NUM_THREADS": "1"} | (extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "tailorgen", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def published(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)

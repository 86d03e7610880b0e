"""Pretrain the things world's CLIP on CPU: 48 drawable things with attributes, a 77-token text tower.

The richer successor of ``benchmarks/shapes/pretrain.py`` (whose resumable training loop and
checkpoints it reuses). Image-caption pairs come from :mod:`tailorgen.testing.things` (web-style
scenes of all 48 things, a quarter of them in the target domain's style, as web data holds
COCO-like photos) with :mod:`tailorgen.testing.things_captions` captions.

- Text tower: 77-token context, width 128, 4 layers: long enough for the paper's 64 context tokens.
  A fifth of the steps use multi-sentence captions (30-70 tokens) so the later positions learn too.
  Attention is causal, so a batch is encoded only up to its longest caption: exactly the same
  features as the full 77 positions (``tests/test_things_world.py``), at a fraction of the cost.
- Image tower: open_clip's ModifiedResNet (RN50 layout, width 16, 64 px: 2x2 regions), as before.

Deterministic (each batch from a generator seeded by (seed, part, step)), resumable (checkpoints
every 50 steps under ``--work``, default ``/root/.cache/tailorgen-world``), and it writes a loadable
snapshot ``WORK/clip-snapshot`` every 250 steps; rendered pairs are cached in chunks under ``WORK/pairs``. Run it niced, one thread, in the background:

    nohup nice -n 15 python benchmarks/things/pretrain.py --part clip > pretrain-clip.log 2>&1 &
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("shapes_pretrain", HERE.parent / "shapes" / "pretrain.py")
base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(base)  # type: ignore[union-attr]

SIZE, CONTEXT = 64, 77
CLIP_CFG: dict[str, Any] = {
    "embed_dim": 128,
    "vision_cfg": {
        "image_size": SIZE,
        "layers": [1, 1, 1, 1],
        "width": 16,
        "head_width": 32,
        "patch_size": None,
    },
    "text_cfg": {"context_length": CONTEXT, "vocab_size": 49408, "width": 128, "heads": 4, "layers": 4},
}
#: (steps, peak lr, batch)
SCHEDULE = {"clip": (3000, 1e-3, 128)}
LONG_CAPTION_RATE = 0.2
TARGET_STYLE_RATE = 0.25
SNAPSHOT_EVERY = 250
CHUNK = 2000  # rendered pairs per cache file
DEFAULT_WORK = Path("/root/.cache/tailorgen-world")


def cached_pairs(work: Path, seed: int, count: int) -> tuple[np.ndarray, list[str], list[str]]:
    """:func:`pairs` in chunks of ``CHUNK``, each rendered once into ``work`` (an interrupted
    rendering resumes at its last chunk; a resumed training renders nothing)."""
    import json

    from tailorgen.io import atomic_path, atomic_write_json

    images, short, long = [], [], []
    for first in range(0, count, CHUNK):
        stem = work / "pairs" / f"seed{seed}-{first:06d}-{min(count, first + CHUNK):06d}"
        if not stem.with_suffix(".json").is_file():
            chunk = pairs(seed * 1_000_003 + first, min(CHUNK, count - first))
            with atomic_path(stem.with_suffix(".npy")) as tmp, tmp.open("wb") as handle:
                np.save(handle, chunk[0])
            atomic_write_json(stem.with_suffix(".json"), {"short": chunk[1], "long": chunk[2]})
        captions = json.loads(stem.with_suffix(".json").read_text())
        images.append(np.load(stem.with_suffix(".npy")))
        short += captions["short"]
        long += captions["long"]
    return np.concatenate(images), short, long


def pairs(seed: int, count: int) -> tuple[np.ndarray, list[str], list[str]]:
    """``count`` images (uint8, N x 64 x 64 x 3), short and long captions of the same scenes."""
    from tailorgen.runtime.progress import progress
    from tailorgen.testing.things import render, sample_scene
    from tailorgen.testing.things_captions import caption, long_caption

    rng = random.Random(seed)
    images, short, long = [], [], []
    for _ in progress(range(count), desc="render pairs"):
        scene = sample_scene(rng, "target" if rng.random() < TARGET_STYLE_RATE else "pretrain", SIZE)
        images.append(np.asarray(render(scene)))
        short.append(caption(rng, scene))
        long.append(long_caption(rng, scene))
    return np.stack(images), short, long


def encode_text_prefix(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """``model.encode_text(tokens)`` computed on the first L positions only (L: the longest caption).

    Exact, not an approximation: the text attention is causal and pooling reads the end token, so
    positions after it never reach the output.
    """
    from open_clip.transformer import text_global_pool

    length = int((tokens != 0).sum(1).max())
    tokens = tokens[:, :length]
    x = model.token_embedding(tokens) + model.positional_embedding[:length]
    x = model.ln_final(model.transformer(x, attn_mask=model.attn_mask[:length, :length]))
    return text_global_pool(x, tokens, model.text_pool_type) @ model.text_projection


def save_snapshot(model: Any, folder: Path) -> None:
    """The model in open_clip's ``local-dir:`` layout, replaced whole (a reader never sees half)."""
    from tailorgen.testing.tiny_clip import save_open_clip

    staging = folder.with_name(folder.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    save_open_clip(model, CLIP_CFG, staging)
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def pretrain_clip(data: tuple[np.ndarray, list[str], list[str]], work: Path, out: Path, seed: int) -> None:
    import open_clip

    images, short, long = data
    model = base.new_clip(CLIP_CFG, seed)
    tokens = {
        "short": open_clip.tokenize(short, context_length=CONTEXT),
        "long": open_clip.tokenize(long, context_length=CONTEXT),
    }
    mean = torch.tensor(open_clip.OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(open_clip.OPENAI_DATASET_STD).view(1, 3, 1, 1)

    def loss_fn(generator: torch.Generator, batch: int, step: int) -> torch.Tensor:
        index = torch.randint(len(images), (batch,), generator=generator)
        kind = "long" if torch.rand(1, generator=generator).item() < LONG_CAPTION_RATE else "short"
        x = base.random_zoom_out(base.to_tensor(images[index.numpy()]), generator)
        scale = 0.8 + 0.4 * torch.rand(batch, 1, 1, 1, generator=generator)
        shift = 0.16 * torch.rand(batch, 1, 1, 1, generator=generator) - 0.08
        x = ((x - 0.5) * scale + 0.5 + shift).clamp(0, 1)
        image = torch.nn.functional.normalize(model.encode_image((x - mean) / std), dim=-1)
        chosen = tokens[kind][index]
        text = torch.nn.functional.normalize(encode_text_prefix(model, chosen), dim=-1)
        return base.contrastive_loss(model, image, text, chosen)

    def snapshot(step: int) -> None:
        if (step + 1) % SNAPSHOT_EVERY == 0:
            model.eval()
            save_snapshot(model, work / "clip-snapshot")
            model.train()

    model.train()
    base.train("clip", work, {"clip": model}, loss_fn, seed, after_step=snapshot, schedule=SCHEDULE["clip"])
    model.eval()
    save_snapshot(model, out / "clip")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=("clip",), default="clip")
    parser.add_argument("--out", type=Path, default=DEFAULT_WORK / "weights")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="checkpoints (resume from here)")
    parser.add_argument("--pairs", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="2 steps on 64 pairs (a check that it runs)")
    args = parser.parse_args()
    if args.smoke:
        SCHEDULE["clip"] = (2, SCHEDULE["clip"][1], 16)
        args.pairs = 64
    torch.set_num_threads(args.threads)
    started, cpu = time.time(), time.process_time()
    args.work.mkdir(parents=True, exist_ok=True)
    pretrain_clip(cached_pairs(args.work, args.seed, args.pairs), args.work, args.out, args.seed)
    print(
        f"pretrain {args.part}: done in {time.time() - started:.0f} s wall, "
        f"{(time.process_time() - cpu) / 60:.1f} CPU-minutes (this run) -> {args.out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

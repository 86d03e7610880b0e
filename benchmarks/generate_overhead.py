"""Overhead of the generate stage over a bare loop on the same pipeline, CLIP model, prompts and seeds.

The stage (planning, PNG writes with fsync, journal, verification, metadata, card, contact sheet)
runs on the tiny offline models into a fresh run directory; the bare loop then loads the same
diffusers pipeline and open_clip model itself and draws + scores exactly the stage's prompts and
seeds in the same batches, writing nothing. Both include model loading; one warm-up of each pays
the imports first; then runs alternate. Both wall-clock and process CPU time are measured; the
ratio uses CPU time (median of the paired ratios of adjacent runs), which other processes' load
on a shared machine does not distort (file syncs are I/O waits: the wall-clock ratio shows them).
The last line is ``ratio=<stage / bare loop>`` (target <= 1.10).

    python benchmarks/generate_overhead.py [--models DIR] [--size 64] [--steps 4] [--quota 12] [--repeats 4]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import tomli_w


def _config(work: Path, models: dict[str, Path], args: argparse.Namespace) -> Path:
    config = {
        "labels": str(models["coco"] / "labels.json"),
        "run": {"name": "bench", "seed": 0, "device": "cpu"},
        "generator": {
            "plugin": "diffusers",
            "options": {
                "model": str(models["sd"]),
                "height": args.size,
                "width": args.size,
                "num_inference_steps": args.steps,
                "batch_size": args.batch_size,
            },
        },
        "discriminator": {"plugin": "open-clip", "options": {"model": f"local-dir:{models['clip-vit']}"}},
        "generate": {"quota": args.quota, "max_attempts_per_label": 4 * args.quota, "contact_sheet": True},
    }
    path = work / "bench.toml"
    path.write_text(tomli_w.dumps(config))
    return path


def _prompts(run_dir: Path, labels: list[str]) -> None:
    run_dir.mkdir(parents=True)
    rows = []
    for i, a in enumerate(labels):
        rows += [{"labels": [a], "text": f"a photo of a {a}, scene {n}", "accepted": True} for n in range(3)]
        for b in labels[i + 1 :]:
            rows.append({"labels": [a, b], "text": f"a {a} next to a {b} in a busy street", "accepted": True})
    (run_dir / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads) since ``start``."""
    wall, cpu = _clocks()
    return wall - start[0], cpu - start[1]


def _stage(config: Path, run_dir: Path, labels: list[str]) -> tuple[float, float]:
    from tailorgen.config import load_config
    from tailorgen.pipeline import run_pipeline

    _prompts(run_dir, labels)
    start = _clocks()
    run_pipeline(load_config(config), ["generate"], run_dir)
    return _since(start)


def _items(run_dir: Path) -> list[dict[str, Any]]:
    records: dict[int, dict[str, Any]] = {}
    for journal in (run_dir / "synthetic" / ".journal").glob("*.jsonl"):
        for line in journal.read_text().splitlines():
            record = json.loads(line)
            records[record["id"]] = record
    return [records[i] for i in sorted(records)]


def _bare(
    models: dict[str, Path], items: list[dict[str, Any]], names: list[str], args: argparse.Namespace
) -> float:
    import open_clip
    import torch
    from diffusers import DiffusionPipeline, EulerDiscreteScheduler
    from tailorgen.plugins.diffusers_generator import NEGATIVE_PROMPT

    start = _clocks()
    pipe = DiffusionPipeline.from_pretrained(str(models["sd"]), use_safetensors=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{models['clip-vit']}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{models['clip-vit']}")
    model.eval()
    with torch.inference_mode():
        text = torch.nn.functional.normalize(model.encode_text(tokenizer(names)), dim=-1)
        for i in range(0, len(items), args.batch_size):
            batch = items[i : i + args.batch_size]
            images = pipe(
                prompt=[r["prompt"] for r in batch],
                negative_prompt=[NEGATIVE_PROMPT] * len(batch),
                generator=[torch.Generator("cpu").manual_seed(r["seed"]) for r in batch],
                num_inference_steps=args.steps,
                guidance_scale=7.5,
                height=args.size,
                width=args.size,
            ).images
            feats = model.encode_image(torch.stack([preprocess(im) for im in images]))
            _ = 100 * torch.nn.functional.normalize(feats, dim=-1) @ text.T
    return _since(start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, help="tiny models dir (default: a temporary one)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--quota", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (both sides)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)

    from tailorgen.data.labels import load_label_set
    from tailorgen.runtime.progress import set_quiet
    from tailorgen.testing import ensure_demo_models

    set_quiet(True)
    work = Path(tempfile.mkdtemp(prefix="tailorgen-bench-"))
    try:
        models = ensure_demo_models(args.models or work / "models")
        labels = load_label_set(str(models["coco"] / "labels.json")).unseen
        config = _config(work, models, args)
        # warm-up (imports, first calls); the plan is deterministic, so every run draws these items
        _stage(config, work / "warm-up", labels)
        items = _items(work / "warm-up")
        _bare(models, items, labels, args)
        stage_times: list[tuple[float, float]] = []
        bare_times: list[tuple[float, float]] = []
        for rep in range(args.repeats):
            run_dir = work / f"run-{rep}"
            if rep % 2:  # alternate the order so drifting machine load hits both sides alike
                bare_times.append(_bare(models, items, labels, args))
            stage_times.append(_stage(config, run_dir, labels))
            if not rep % 2:
                bare_times.append(_bare(models, items, labels, args))
            assert _items(run_dir) == items, "the stage drew other items than in the warm-up"
            shutil.rmtree(run_dir)
        n = len(items)
        print(
            f"images per run: {n} ({args.size} px, {args.steps} steps, batch {args.batch_size}, {args.threads} thread(s))"
        )
        print(f"{'run':<27}{'wall s':>8}{'cpu s':>8}{'img/s':>7}   all runs, wall/cpu (s)")
        for name, times in (("generate stage", stage_times), ("bare pipeline + CLIP loop", bare_times)):
            wall, cpu = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
            runs = " ".join(f"{w:.1f}/{c:.1f}" for w, c in times)
            print(f"{name:<27}{wall:>8.2f}{cpu:>8.2f}{n / wall:>7.1f}   {runs}")
        wall_ratio = statistics.median(s[0] / b[0] for s, b in zip(stage_times, bare_times, strict=True))
        cpu_ratio = statistics.median(s[1] / b[1] for s, b in zip(stage_times, bare_times, strict=True))
        print(f"paired wall-clock ratio (median; noisy on a shared machine): {wall_ratio:.3f}")
        # CPU time of the process: what the stage adds, undisturbed by other processes' load
        print(f"ratio={cpu_ratio:.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

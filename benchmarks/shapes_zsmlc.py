"""Does the method work? Zero-shot multi-label classification in the shapes world, through the real pipeline.

The world (``tailorgen.testing.shapes``): 12 shape classes; a CLIP (ModifiedResNet) and a tiny Stable
Diffusion pretrained on captioned pretraining-domain scenes of ALL shapes (``benchmarks/shapes``);
a target data set in another style (textured noisy backgrounds, smaller shapes) in COCO format with
8 seen and 4 unseen shapes. Every number comes from ``tailorgen run`` on configs written here:

  (a) clip-zeroshot                     the pretrained CLIP with prompt templates (the floor)
  (b) unfiltered synthetic data         classifier trained on every generated image
  (c) filtered                          only the images the CLIP filter accepts
  (d) filtered + L_TE                   generator text encoder fine-tuned with L_TE first
  (e) (d) + global-branch fusion head

Table: ZSL (unseen labels) and GZSL (all labels) mAP and F1@3 on the target test split, chance
mAP (the label prevalence) beside them, and the filter's acceptance rate before / after L_TE.
Seeded: a second run with the same thread count prints the same table. Last line: ``ratio=<ZSL mAP of (e) / of (a)>``.

Two constants of the method are scaled to this CLIP, whose learned logit scale is 35, not a real
CLIP's 100: the filter (and L_TE) use the model's own scale (``--filter-logit-scale 100`` restores
the paper's), and the classifier's aggregation scale is 0.0625 instead of 5 (at 5 its probabilities
are exactly 0 or 1 and it does not learn; 0.0625 had the best validation mAP of 1, 0.5, ..., 1/32).
Both choices are discussed in benchmarks/shapes/README.md.

    python benchmarks/shapes_zsmlc.py [--weights benchmarks/shapes/weights] [--work DIR] [--quota 25]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import tomli_w
from tailorgen.io import read_jsonl

HERE = Path(__file__).resolve().parent
ROWS = {
    "a": "clip-zeroshot",
    "b": "unfiltered synthetic",
    "c": "filtered",
    "d": "filtered + L_TE",
    "e": "(d) + global-branch",
}


def base_config(weights: Path, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Everything but the per-variant parts; sizes fit 2 CPU cores and the 64 px generator."""
    clip = f"local-dir:{weights / 'clip'}"
    return {
        "labels": str(data / "labels.json"),
        "run": {"name": "shapes", "seed": args.seed, "device": "cpu"},
        # The world's captions are short ("a star and a heart"): bare label phrases, no scene words.
        "prompt_writer": {
            "plugin": "template",
            "options": {"templates": ["{subject}"], "adjective_rate": 0.0, "pose_rate": 0.0},
        },
        "prompts": {"k": 2, "prompts_per_set": 2, "min_words": 2, "max_words": 20},
        "generator": {
            "plugin": "diffusers",
            "options": {
                "model": str(weights / "sd"),
                "height": 64,
                "width": 64,
                "num_inference_steps": args.sampling_steps,
                "guidance_scale": args.guidance,
                "negative_prompt": "",
                "batch_size": 16,
            },
        },
        "discriminator": {
            "plugin": "open-clip",
            "options": {
                "model": clip,
                "rule": "strict",
                "logit_scale": args.filter_logit_scale,
                "background": args.background,
            },
        },
        "generate": {
            "quota": args.quota,
            "max_attempts_per_label": 6 * args.quota,  # bounded time even when the filter rejects most
            "keep_rejected": True,
        },
        "finetune": {
            "steps": args.finetune_steps,
            "sampling_steps": args.sampling_steps,
            "resolution": 64,
            "guidance_scale": args.guidance,
            "negative_prompt": "",
            "lr": args.finetune_lr,
            "checkpoint_steps": False,
            "checkpoint_every": args.finetune_steps,
        },
        "fusion_head": {"plugin": "none"},
        "datasets": {"shapes": {"plugin": "coco", "options": {"root": str(data)}}},
        "train": {
            "mode": "alternate",
            "backbone": clip,
            "real_dataset": "shapes",
            "val_split": "val",
            "n_ctx": 8,
            # The paper's 20 x 5 = 100 saturates this CLIP's probabilities at exactly 0/1 (see README).
            "aggregation_scale": args.aggregation_scale,
            "epochs": args.epochs,
            "batch_size": 32,
            "lr_context": 0.02,
            "num_workers": 0,
        },
        "evaluate": {
            "dataset": "shapes",
            "split": "test",
            "baselines": ["clip-zeroshot"],
            "ks": [3],
            "num_workers": 0,
        },
    }


def run(config: dict[str, Any], out: Path, stages: str) -> None:
    """``tailorgen run`` in a subprocess (as a user would), failing loudly with its output."""
    out.mkdir(parents=True, exist_ok=True)
    path = out.parent / f"{out.name}.toml"
    path.write_bytes(tomli_w.dumps(config).encode())
    command = [sys.executable, "-m", "tailorgen", "run", str(path), "--out", str(out), "--stages", stages]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")


def share_synthetic(
    config: dict[str, Any], source: Path, *, accepted_only: bool, fusion: str
) -> dict[str, Any]:
    """A train+evaluate config that uses run ``source``'s ``synthetic/`` images."""
    options = {"root": str(source / "synthetic"), "accepted_only": accepted_only}
    return {
        **config,
        "datasets": {**config["datasets"], "synthetic": {"plugin": "imagefolder", "options": options}},
        "train": {**config["train"], "synthetic_dataset": "synthetic"},
        "fusion_head": {"plugin": fusion},
    }


def acceptance(synthetic: Path) -> tuple[float, int]:
    rows = read_jsonl(synthetic / "metadata.jsonl")
    return sum(r["accepted"] for r in rows) / max(1, len(rows)), len(rows)


def chance_map(data: Path, setting: str) -> float:
    """Expected mAP of random scores: the mean prevalence of the setting's labels on the test images."""
    labels = json.loads((data / "labels.json").read_text())["labels"]
    names = {lab["name"] for lab in labels if setting == "gzsl" or lab["split"] == "unseen"}
    test = json.loads((data / "annotations" / "instances_test.json").read_text())
    by_id = {c["id"]: c["name"] for c in test["categories"]}
    per_image: dict[int, set[str]] = {im["id"]: set() for im in test["images"]}
    for ann in test["annotations"]:
        per_image[ann["image_id"]].add(by_id[ann["category_id"]])
    rows = [found & names for found in per_image.values() if found & names]  # the protocol's images
    return 100.0 * sum(sum(name in r for r in rows) / len(rows) for name in names) / len(names)


def metrics(run_dir: Path, model: str) -> dict[str, dict[str, float]]:
    return json.loads((run_dir / "eval.json").read_text())["models"][model]


def table(
    results: dict[str, dict[str, dict[str, float]]], data: Path, rates: dict[str, tuple[float, int]]
) -> str:
    lines = [f"{'':3}{'variant':24}{'ZSL mAP':>9}{'ZSL F1@3':>10}{'GZSL mAP':>10}{'GZSL F1@3':>11}"]
    for key, name in ROWS.items():
        m = results[key]
        lines.append(
            f"({key}) {name:24}{m['zsl']['mAP']:9.1f}{m['zsl']['F1@3']:10.1f}"
            f"{m['gzsl']['mAP']:10.1f}{m['gzsl']['F1@3']:11.1f}"
        )
    lines.append(
        f"    {'chance (label prevalence)':24}{chance_map(data, 'zsl'):9.1f}{'':10}{chance_map(data, 'gzsl'):10.1f}"
    )
    for when, key in (("before L_TE", "c"), ("after L_TE", "d")):
        rate, count = rates[key]
        lines.append(f"filter acceptance {when}: {100 * rate:.1f}% of {count} generated images")
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``[]``: the defaults, for scripts that reuse this benchmark's runs)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", type=Path, default=HERE / "shapes" / "weights")
    parser.add_argument("--work", type=Path, default=None, help="keep the runs here (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quota", type=int, default=25, help="accepted images wanted per unseen label")
    parser.add_argument("--sampling-steps", type=int, default=12)
    parser.add_argument("--guidance", type=float, default=2.0)
    parser.add_argument("--finetune-steps", type=int, default=40)
    parser.add_argument("--finetune-lr", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--aggregation-scale", type=float, default=0.0625)
    parser.add_argument(
        "--filter-logit-scale",
        type=lambda text: text if text == "model" else float(text),
        default="model",
        help="the filter's logit scale: 'model' (this CLIP's learned 35) or a number (the paper: 100)",
    )
    parser.add_argument(
        "--background",
        action="append",
        default=[],
        help="a background text for the filter and L_TE (not in the method; repeatable), e.g. 'a photo of'",
    )
    return parser.parse_args(argv)


def main() -> None:
    args = arguments()
    from tailorgen.testing.shapes_coco import build_shapes_coco

    work = args.work or Path(tempfile.mkdtemp(prefix="shapes-zsmlc-"))
    for stale in ("coco", "b", "c", "d", "e"):  # a fresh start: the same table every time
        shutil.rmtree(work / stale, ignore_errors=True)
    data = build_shapes_coco(work / "coco", seed=args.seed)
    config = base_config(args.weights.resolve(), data, args)
    runs = {key: work / key for key in "bcde"}
    # (c) prompts + generation with the pretrained text encoder (rejected images kept for (b)), train, eval.
    run(config, runs["c"], "prompts,generate,train,evaluate")
    unfiltered = share_synthetic(config, runs["c"], accepted_only=False, fusion="none")
    run(unfiltered, runs["b"], "train,evaluate")
    # (d) L_TE fine-tuning, generation with the fine-tuned encoder, train, eval; (e) same data, global-branch.
    run(config, runs["d"], "prompts,finetune,generate,train,evaluate")
    fused = share_synthetic(config, runs["d"], accepted_only=True, fusion="global-branch")
    run(fused, runs["e"], "train,evaluate")
    results = {key: metrics(path, "classifier") for key, path in runs.items()}
    results["a"] = metrics(runs["c"], "clip-zeroshot")
    rates = {key: acceptance(runs[key] / "synthetic") for key in "cd"}
    print(table(results, data, rates))
    print(f"runs: {work}")
    print(f"ratio={results['e']['zsl']['mAP'] / results['a']['zsl']['mAP']:.3f}")


if __name__ == "__main__":
    main()

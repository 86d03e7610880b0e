"""The things world's gate: can its CLIP alone carry prompt learning? (before any diffusion model)

On one fold's target data set (``tailorgen.testing.things_coco``: 36 seen / 12 unseen things), with
the CLIP alone, through ``tailorgen run`` like the benchmark:

- ``(a)`` clip-zeroshot and ``(a')`` clip-regions: the untrained baselines (hand prompt templates);
- ``(a2)`` learned contexts on the real seen-label images, from ``--inits`` initialisation seeds at
  the paper's settings (64 context tokens, lr_context 0.002 after one warm-up epoch): ZSL mAP per
  init and its spread (max - min); zero-shot selection (no unseen annotation of a real image);
- a linear probe (logistic regression on the CLIP's global image embedding, fitted on the train
  split's seen labels) scored on the test split's seen labels: can a classifier use these features?

The gate passes when the spread is at most 3 ZSL mAP and (a') is well above chance (at least twice
chance and 15 points above it). The probe's target is 60 seen-label mAP. Prints a table.

    python benchmarks/things/gate.py --clip /root/.cache/tailorgen-world/clip-snapshot [--fold 0]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("shapes_zsmlc", HERE.parent / "shapes_zsmlc.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)  # type: ignore[union-attr]

SPLITS = {"train": 960, "val": 256, "test": 1000}
MAX_SPREAD = 3.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", type=Path, default=Path("/root/.cache/tailorgen-world/clip-snapshot"))
    p.add_argument("--work", type=Path, default=Path("/root/.cache/tailorgen-world/gate"))
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--seed", type=int, default=0, help="the data set's seed")
    p.add_argument("--inits", type=int, default=3)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--n-ctx", type=int, default=64)
    p.add_argument("--lr-context", type=float, default=0.002)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--split-sizes", type=int, nargs=3, default=list(SPLITS.values()), metavar=("TRAIN", "VAL", "TEST")
    )
    return p


def config(args: argparse.Namespace, data: Path, seed: int) -> dict[str, Any]:
    clip = f"local-dir:{args.clip.resolve()}"
    return {
        "labels": str(data / "labels.json"),
        "run": {"name": "things-gate", "seed": seed, "device": "cpu"},
        "fusion_head": {"plugin": "none"},
        "datasets": {"things": {"plugin": "coco", "options": {"root": str(data)}}},
        "train": {
            "mode": "real",
            "backbone": clip,
            "real_dataset": "things",
            "val_split": "val",
            "selection": "zero-shot",
            "n_ctx": args.n_ctx,
            "logit_scale": "auto",
            "aggregation_scale": "auto",
            "epochs": args.epochs,
            "warmup_epochs": 1,
            "batch_size": 32,
            "lr_context": args.lr_context,
            "randaugment": False,
            "cutout": 0.0,
            "num_workers": 0,
        },
        "evaluate": {
            "dataset": "things",
            "split": "test",
            "baselines": [],
            "clip_model": clip,
            "ks": [3],
            "num_workers": 0,
        },
    }


def probe(clip: Path, data: Path) -> float:
    """Seen-label test mAP of a logistic-regression probe on the CLIP's global image embedding."""
    import open_clip
    import torch
    from sklearn.linear_model import LogisticRegression
    from tailorgen.data.labels import load_label_set
    from tailorgen.evaluation.metrics import mean_average_precision
    from tailorgen.registry import create_dataset

    labels = load_label_set(data / "labels.json")
    model, _, transform = open_clip.create_model_and_transforms(f"local-dir:{clip}")
    model.eval()
    features, targets = {}, {}
    for split in ("train", "test"):
        dataset = create_dataset("coco", root=str(data)).load(split, labels.seen, labels)
        dataset.transform = transform
        loader = torch.utils.data.DataLoader(dataset, batch_size=128)
        with torch.no_grad():
            rows = [torch.nn.functional.normalize(model.encode_image(x), dim=-1) for x, _ in loader]
        features[split], targets[split] = torch.cat(rows).numpy(), dataset.targets.numpy() > 0
    scores = np.stack(
        [
            LogisticRegression(C=10.0, max_iter=2000)
            .fit(features["train"], targets["train"][:, j])
            .decision_function(features["test"])
            for j in range(len(labels.seen))
        ],
        axis=1,
    )
    return mean_average_precision(scores, targets["test"])


def main() -> None:
    args = parser().parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    started = time.monotonic()
    from tailorgen.testing.things_coco import build_things_coco

    work = args.work / f"fold{args.fold}-seed{args.seed}"
    data = work / "coco"
    if not (data / "labels.json").is_file():
        shutil.rmtree(data, ignore_errors=True)
        build_things_coco(
            data, seed=args.seed, splits=dict(zip(SPLITS, args.split_sizes, strict=True)), fold=args.fold
        )
    base = config(args, data, args.seed)
    evaluate = {**base["evaluate"], "classifier": "", "baselines": ["clip-zeroshot", "clip-regions"]}
    runs = [("baselines", {**base, "evaluate": evaluate}, "evaluate")]
    runs += [
        (
            f"a2-i{i}",
            {**base, "run": {**base["run"], "seed": bench.train_seed(args.seed, i)}},
            "train,evaluate",
        )
        for i in range(args.inits)
    ]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        jobs = [pool.submit(bench.run, cfg, work / name, stages, args.threads) for name, cfg, stages in runs]
        probe_map = probe(args.clip.resolve(), data)
        try:
            for job in jobs:
                job.result()
        except RuntimeError as exc:
            sys.exit(str(exc))
    models = json.loads((work / "baselines" / "eval.json").read_text())["models"]
    inits = [
        json.loads((work / f"a2-i{i}" / "eval.json").read_text())["models"]["classifier"]
        for i in range(args.inits)
    ]
    zsl = [r["zsl"]["mAP"] for r in inits]
    chance = bench.chance_map(data, "zsl")
    spread = max(zsl) - min(zsl)
    print(f"things gate: CLIP {args.clip}, fold {args.fold}, data seed {args.seed}, {len(zsl)} inits")
    print(f"{'':34}{'ZSL mAP':>10}{'GZSL mAP':>10}")
    for name, key in (("(a)  clip-zeroshot", "clip-zeroshot"), ("(a') clip-regions", "clip-regions")):
        print(f"{name:34}{models[key]['zsl']['mAP']:10.1f}{models[key]['gzsl']['mAP']:10.1f}")
    for i, r in enumerate(inits):
        selection = bench.selection_score(work / f"a2-i{i}")
        print(
            f"{f'(a2) learned contexts, init {i}':34}{r['zsl']['mAP']:10.1f}{r['gzsl']['mAP']:10.1f}  selection {selection:.1f}"
        )
    print(f"{'chance (label prevalence)':34}{chance:10.1f}{bench.chance_map(data, 'gzsl'):10.1f}")
    print(f"linear probe, seen labels, test mAP: {probe_map:.1f}")
    print(f"(a2) ZSL spread over inits: {spread:.1f} (gate: <= {MAX_SPREAD}); mean {np.mean(zsl):.1f}")
    regions = models["clip-regions"]["zsl"]["mAP"]
    passed = spread <= MAX_SPREAD and regions >= max(2 * chance, chance + 15)
    print(f"gate {'passed' if passed else 'not passed'} ({(time.monotonic() - started) / 60:.1f} min)")


if __name__ == "__main__":
    main()

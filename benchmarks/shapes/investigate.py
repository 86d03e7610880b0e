"""Sweeps behind benchmarks/shapes/README.md: L_TE's steps and learning rate, the fusion head's settings.

Runs on one seed's data (default 0) with the benchmark's configs (``benchmarks/shapes_zsmlc.py``),
reusing that seed's runs when ``--work`` holds them. Every choice is made WITHOUT the test split:

- ``lte``: L_TE steps x learning rate. L_TE's objective is the filter's acceptance, so acceptance
  (of the images generated with the tuned encoder; no real image involved) ranks the settings. Each
  point also trains (d)'s classifier on its images; its test mAP is reported, never used to choose.
- ``fusion``: the fusion head's learning rate x initial scale on (d)'s images. The zero-shot
  selection score (seen labels on the real val split + unseen labels on held-out synthetic images)
  ranks them; test mAP is reported beside it.
- ``scale``: the classifier's scales, ``auto`` against fixed aggregation scales, on (c)'s images,
  ranked by the same selection score.
- ``nctx``: the number of context tokens, on (c)'s images from both initialisation seeds, ranked by
  the same selection score.
- ``augment``: RandAugment and Cutout (made for 224 px) on or off for these 64 px images, on (c)'s
  images from both initialisation seeds, ranked by the same selection score.

    python benchmarks/shapes/investigate.py lte fusion scale nctx augment [--work DIR] [--seed 0] [--jobs 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("shapes_zsmlc", HERE.parent / "shapes_zsmlc.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)  # type: ignore[union-attr]

LTE = [(40, 1e-4), (120, 1e-4), (40, 1e-3), (120, 1e-3)]
FUSION = [(1e-4, 0.0), (1e-3, 0.0), (1e-2, 0.0), (1e-4, 0.1), (1e-3, 0.1), (1e-2, 0.1)]
SCALES = ["auto", 1.0, 0.25, 0.0625]
AUGMENT = [(True, 0.5), (True, 0.0), (False, 0.5), (False, 0.0)]
N_CTX = [4, 8, 16, 27]


def _result(run_dir: Path) -> dict[str, Any]:
    metrics = json.loads((run_dir / "eval.json").read_text())["models"]["classifier"]
    return {
        "selection": bench.selection_score(run_dir),
        "zsl": metrics["zsl"]["mAP"],
        "gzsl": metrics["gzsl"]["mAP"],
    }


def lte_point(config: dict[str, Any], work: Path, steps: int, lr: float, threads: int) -> dict[str, Any]:
    finetune = {**config["finetune"], "steps": steps, "lr": lr, "checkpoint_every": steps}
    if finetune == config["finetune"] and (work / "d-i0" / "eval.json").is_file():
        return {
            "steps": steps,
            "lr": lr,
            "acceptance": bench.acceptance(work / "d" / "synthetic"),
            **_result(work / "d-i0"),
        }
    out = work / f"lte-{steps}-{lr:g}"
    if not (out / "eval.json").is_file():
        bench.run({**config, "finetune": finetune}, out, "prompts,finetune,generate,train,evaluate", threads)
    return {"steps": steps, "lr": lr, "acceptance": bench.acceptance(out / "synthetic"), **_result(out)}


def fusion_point(config: dict[str, Any], work: Path, lr: float, init: float, threads: int) -> dict[str, Any]:
    out = work / f"fusion-{lr:g}-{init:g}"
    args = argparse.Namespace(lr_fusion=lr, fusion_init_scale=init)
    row = bench.with_fusion(bench.with_synthetic(config, work / "d", accepted_only=True), args)
    if not (out / "eval.json").is_file():
        bench.run(row, out, "train,evaluate", threads)
    return {"lr_fusion": lr, "init_scale": init, **_result(out)}


def scale_point(config: dict[str, Any], work: Path, scale: Any, threads: int) -> dict[str, Any]:
    out = work / f"scale-{scale}"
    row = bench.with_synthetic(config, work / "c", accepted_only=True)
    row = {
        **row,
        "train": {
            **row["train"],
            "logit_scale": 20.0 if scale != "auto" else "auto",
            "aggregation_scale": scale,
        },
    }
    if not (out / "eval.json").is_file():
        bench.run(row, out, "train,evaluate", threads)
    return {"aggregation_scale": scale, **_result(out)}


def c_over_inits(
    config: dict[str, Any], work: Path, name: str, train: dict[str, Any], threads: int
) -> dict[str, float]:
    """(c)'s classifier with ``train`` settings changed, from both initialisation seeds: mean results."""
    results = []
    for init in (0, 1):
        row = bench.with_synthetic(config, work / "c", accepted_only=True)
        row = {
            **row,
            "run": {**row["run"], "seed": bench.train_seed(config["run"]["seed"], init)},
            "train": {**row["train"], **train},
        }
        out = work / f"{name}-i{init}"
        if row["train"] == config["train"] | {"synthetic_dataset": "synthetic"}:
            out = work / f"c-i{init}"  # the benchmark's own (c)
        elif not (out / "eval.json").is_file():
            bench.run(row, out, "train,evaluate", threads)
        results.append(_result(out))
    return {k: sum(r[k] for r in results) / len(results) for k in ("selection", "zsl", "gzsl")}


def augment_point(
    config: dict[str, Any], work: Path, augment: tuple[bool, float], threads: int
) -> dict[str, Any]:
    randaugment, cutout = augment
    name = f"augment-{'ra' if randaugment else 'none'}-{cutout:g}"
    mean = c_over_inits(config, work, name, {"randaugment": randaugment, "cutout": cutout}, threads)
    return {"randaugment": "on" if randaugment else "off", "cutout": cutout, **mean}


def nctx_point(config: dict[str, Any], work: Path, n_ctx: int, threads: int) -> dict[str, Any]:
    return {"n_ctx": n_ctx, **c_over_inits(config, work, f"nctx-{n_ctx}", {"n_ctx": n_ctx}, threads)}


def show(title: str, keys: list[str], rows: list[dict[str, Any]], rank: str) -> None:
    best = max(rows, key=lambda r: r[rank] if r[rank] is not None else float("-inf"))
    print(f"\n{title} (chosen by {rank}, marked *; test mAP reported, never used to choose)")
    print(
        "".join(
            f"{k:>12}"
            for k in [*keys, rank if rank != "selection" else "", "selection", "ZSL mAP", "GZSL mAP"]
        )
    )
    for r in rows:
        cells = [f"{r[k]:>12g}" if not isinstance(r[k], str) else f"{r[k]:>12}" for k in keys]
        extra = [f"{r[rank]:12.1f}"] if rank != "selection" else [f"{'':12}"]
        mark = " *" if r is best else ""
        sel = r["selection"]
        print(
            "".join(
                [
                    *cells,
                    *extra,
                    f"{sel:12.1f}" if sel is not None else f"{'-':>12}",
                    f"{r['zsl']:12.1f}",
                    f"{r['gzsl']:12.1f}",
                ]
            )
            + mark
        )


def main() -> None:
    p = bench.parser()
    p.add_argument("sweeps", nargs="+", choices=["lte", "fusion", "scale", "nctx", "augment"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    work = (args.work or Path("runs/shapes-investigate")) / f"seed-{args.seed}"
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        if not (work / "results.json").is_file():
            bench.run_seed(args.seed, args, work, pool)  # the benchmark's runs for this seed first
        data = work / "coco"
        config = bench.base_config(args.weights.resolve(), data, args, args.seed)
        if "scale" in args.sweeps:
            rows = list(pool.map(lambda s: scale_point(config, work, s, args.threads), SCALES))
            show("classifier scales on (c)'s images", ["aggregation_scale"], rows, "selection")
        if "fusion" in args.sweeps:
            rows = list(pool.map(lambda x: fusion_point(config, work, *x, args.threads), FUSION))
            show("fusion head on (d)'s images", ["lr_fusion", "init_scale"], rows, "selection")
        if "nctx" in args.sweeps:
            rows = list(pool.map(lambda n: nctx_point(config, work, n, args.threads), N_CTX))
            show("context tokens on (c)'s images, mean of 2 inits", ["n_ctx"], rows, "selection")
        if "augment" in args.sweeps:
            rows = list(pool.map(lambda x: augment_point(config, work, x, args.threads), AUGMENT))
            show(
                "augmentation on (c)'s images, mean of 2 inits", ["randaugment", "cutout"], rows, "selection"
            )
        if "lte" in args.sweeps:
            rows = list(pool.map(lambda x: lte_point(config, work, *x, args.threads), LTE))
            show("L_TE: steps x learning rate", ["steps", "lr"], rows, "acceptance")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Does the method work? Zero-shot multi-label classification in the shapes world, through the real pipeline.

The world (``tailorgen.testing.shapes``): 12 shape classes; a CLIP (ModifiedResNet) and a tiny Stable
Diffusion pretrained on captioned pretraining-domain scenes of ALL shapes (``benchmarks/shapes``);
a target data set in another style (textured noisy backgrounds, smaller shapes) in COCO format with
8 seen and 4 unseen shapes. Every number comes from ``tailorgen run`` on configs written here:

  (a)  clip-zeroshot                    the pretrained CLIP's global embedding with prompt templates
  (a') clip-regions                     the classifier's region head with the same prompts, no training
  (a2) learned contexts, real only      DualCoOp on the real seen-label images, no synthetic image
  (b)  + unfiltered synthetic           alternating with every generated image of the unseen labels
  (c)  filtered                         only the images the CLIP filter accepts
  (d)  + L_TE                           generator text encoder fine-tuned with L_TE first
  (e)  + global-branch                  (d)'s data, with the paper's fusion head

Zero-shot honest: every classifier is selected (best epoch) with ``[train] selection = "zero-shot"``:
seen labels on the real val split plus unseen labels on held-out synthetic images; no annotation of
an unseen label on a real image chooses anything. The classifier's scales are ``"auto"`` (derived
from this CLIP's learned logit scale, as the paper's 20 x 5 is from a real CLIP's 100). Contexts
train at the paper's settings: lr_context 0.002 after one warm-up epoch, as many context tokens as
the CLIP's text context holds with the longest label name (``--n-ctx``; 27 for this 32-token CLIP).

Each seed (0-5 by default) draws its own data set (320 train, 128 val, 1000 test images), prompts
and images; every classifier row is trained from ``--inits`` initialisation seeds (default 2) on that
same data, the same init seeds for every row (paired). A row's value for a seed is the mean over its
inits. Every cell is the mean over seeds with a 95% t-interval over seeds; each row also shows its
paired difference with the row above (the same seed's data, t-interval over seeds). Runs are
single-threaded (``--threads``, pinned), so a second run prints the same table; ``--jobs`` runs go
side by side. Last line: ``ratio=<mean ZSL mAP of (e) / the larger mean ZSL mAP of (a') and (a2)>``.

    python benchmarks/shapes_zsmlc.py [--quick] [--work DIR] [--jobs 2] [--threads 1] [--inits 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import tomli_w

HERE = Path(__file__).resolve().parent
ROWS = {
    "a": "clip-zeroshot",
    "a'": "clip-regions (region head)",
    "a2": "learned contexts, real only",
    "b": "+ unfiltered synthetic",
    "c": "filtered",
    "d": "+ L_TE",
    "e": "+ global-branch",
}
#: rows scored by an untrained baseline of generation run (c), by its evaluate name
BASELINE_ROWS = {"a": "clip-zeroshot", "a'": "clip-regions"}
#: rows that train a classifier (once per initialisation seed)
TRAINED = ("a2", "b", "c", "d", "e")
METRICS = (("zsl", "mAP"), ("zsl", "F1@3"), ("gzsl", "mAP"), ("gzsl", "F1@3"))
SPLITS = {"train": 320, "val": 128, "test": 1000}
#: training length and augmentation (benchmarks/shapes/README.md: measured on the selection score)
EPOCHS, RANDAUGMENT, CUTOUT = 30, "off", 0.0


def number_or_word(*words: str) -> Any:
    """argparse type: one of ``words`` or a float."""
    return lambda text: text if text in words else float(text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=HERE / "shapes" / "weights")
    p.add_argument("--work", type=Path, default=None, help="keep the runs here (default: a temp dir)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    p.add_argument("--quick", action="store_true", help="one seed (0) only: no intervals")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep --work's runs: tailorgen resumes each (finished stages are skipped; a run whose config changed restarts)",
    )
    p.add_argument("--jobs", type=int, default=2, help="seeds run side by side (one thread each)")
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads per run (pinned: results depend on it)"
    )
    p.add_argument("--test-images", type=int, default=SPLITS["test"])
    p.add_argument("--quota", type=int, default=25, help="accepted images wanted per unseen label")
    p.add_argument("--sampling-steps", type=int, default=12)
    p.add_argument("--guidance", type=float, default=2.0)
    # 120, not 40: the best filter acceptance of 40/120 steps x lr 1e-4/1e-3 (benchmarks/shapes/investigate.py)
    p.add_argument("--finetune-steps", type=int, default=120)
    p.add_argument("--finetune-lr", type=float, default=1e-4)
    p.add_argument(
        "--inits", type=int, default=2, help="initialisation seeds per data seed (paired over rows)"
    )
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument(
        "--lr-context", type=float, default=0.002, help="the contexts' learning rate (paper: 0.002)"
    )
    p.add_argument("--warmup-epochs", type=int, default=1, help="epochs at lr 1e-5 first (paper: 1)")
    p.add_argument(
        "--n-ctx", type=int, default=None, help="context tokens (default: the text context allows)"
    )
    p.add_argument("--randaugment", choices=("on", "off"), default=RANDAUGMENT)
    p.add_argument("--cutout", type=float, default=CUTOUT, help="probability of Cutout per training image")
    p.add_argument("--lr-fusion", type=float, default=1e-4, help="the fusion head's learning rate (row e)")
    p.add_argument("--fusion-init-scale", type=float, default=0.0, help="the fusion head's initial affine")
    p.add_argument("--logit-scale", type=number_or_word("auto"), default="auto")
    p.add_argument("--aggregation-scale", type=number_or_word("auto"), default="auto")
    p.add_argument(
        "--filter-logit-scale",
        type=number_or_word("model"),
        default="model",
        help="the filter's logit scale: 'model' (this CLIP's learned 35) or a number (the paper: 100)",
    )
    p.add_argument(
        "--background",
        action="append",
        default=[],
        help="a background text for the filter and L_TE (not in the method; repeatable), e.g. 'a photo of'",
    )
    return p


def base_config(weights: Path, data: Path, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """Everything but the per-row parts; sizes fit 2 CPU cores and the 64 px generator."""
    clip = f"local-dir:{weights / 'clip'}"
    return {
        "labels": str(data / "labels.json"),
        "run": {"name": "shapes", "seed": seed, "device": "cpu"},
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
            # No unseen-label annotation of a real image selects anything (see the docstring).
            "selection": "zero-shot",
            "n_ctx": args.n_ctx or max_n_ctx(weights / "clip", data / "labels.json"),
            "logit_scale": args.logit_scale,
            "aggregation_scale": args.aggregation_scale,
            "epochs": args.epochs,
            "warmup_epochs": args.warmup_epochs,
            "batch_size": 32,
            "lr_context": args.lr_context,
            "randaugment": args.randaugment == "on",
            "cutout": args.cutout,
            "num_workers": 0,
        },
        "evaluate": {"dataset": "shapes", "split": "test", "baselines": [], "ks": [3], "num_workers": 0},
    }


def max_n_ctx(clip: Path, labels: Path) -> int:
    """The most context tokens every prompt ``[SOS] ctx... <name>. [EOS]`` fits in the CLIP's text context.

    More would truncate the longest names' prompts (their period, or more, replaced by [EOS]).
    """
    from open_clip.tokenizer import SimpleTokenizer

    config = json.loads((clip / "open_clip_config.json").read_text())
    names = [label["name"] for label in json.loads(labels.read_text())["labels"]]
    longest = max(len(SimpleTokenizer().encode(name.replace("_", " ") + ".")) for name in names)
    return int(config["model_cfg"]["text_cfg"].get("context_length", 77)) - 2 - longest


def with_synthetic(config: dict[str, Any], source: Path, *, accepted_only: bool) -> dict[str, Any]:
    """``config`` training on run ``source``'s ``synthetic/`` images instead of generating its own."""
    options = {"root": str(source / "synthetic"), "accepted_only": accepted_only}
    return {
        **config,
        "datasets": {**config["datasets"], "synthetic": {"plugin": "imagefolder", "options": options}},
        "train": {**config["train"], "synthetic_dataset": "synthetic"},
    }


def with_fusion(config: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    options = {"init_scale": args.fusion_init_scale}
    return {
        **config,
        "fusion_head": {"plugin": "global-branch", "options": options},
        "train": {**config["train"], "lr_fusion": args.lr_fusion},
    }


def train_seed(seed: int, init: int) -> int:
    """The run seed of a classifier trained on data seed ``seed`` from initialisation ``init``."""
    return 1000 * (init + 1) + seed


def generation_runs(config: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(run name, config, stages): (c) draws images with the pretrained text encoder (rejected ones
    kept for (b)) and scores the untrained baselines (a), (a'); (d) fine-tunes with L_TE first."""
    evaluate = {**config["evaluate"], "classifier": "", "baselines": list(BASELINE_ROWS.values())}
    # No classifier is trained here: without the train settings, a run with other training settings
    # (--resume, or the sweeps of benchmarks/shapes/investigate.py) reuses these images.
    untrained = {**config, "train": {"backbone": config["train"]["backbone"]}}
    return [
        ("c", {**untrained, "evaluate": evaluate}, "prompts,generate,evaluate"),
        ("d", untrained, "prompts,finetune,generate"),
    ]


def row_config(config: dict[str, Any], row: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The classifier config of ``row`` (a2-e) on the generation runs in ``work``."""
    if row == "a2":
        return {**config, "train": {**config["train"], "mode": "real"}}
    if row == "e":
        return with_fusion(with_synthetic(config, work / "d", accepted_only=True), args)
    return with_synthetic(config, work / {"b": "c", "c": "c", "d": "d"}[row], accepted_only=row != "b")


def row_runs(
    config: dict[str, Any], work: Path, args: argparse.Namespace
) -> list[tuple[str, dict[str, Any], str]]:
    """(run name ``<row>-i<init>``, config, stages) of every trained row and initialisation seed."""
    runs = []
    for init in range(args.inits):
        for row in TRAINED:
            row_cfg = row_config(config, row, work, args)
            seeded = {**row_cfg, "run": {**row_cfg["run"], "seed": train_seed(config["run"]["seed"], init)}}
            runs.append((f"{row}-i{init}", seeded, "train,evaluate"))
    return runs


def run(config: dict[str, Any], out: Path, stages: str, threads: int) -> None:
    """``tailorgen run`` in a subprocess (as a user would), failing loudly with its output."""
    path = out.parent / f"{out.name}.toml"
    text = tomli_w.dumps(config).encode()
    if path.is_file() and path.read_bytes() != text:  # --resume: another config, so start it afresh
        shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text)
    command = [sys.executable, "-m", "tailorgen", "run", str(path), "--out", str(out), "--stages", stages]
    pinned = {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env = {**os.environ, **pinned, "HF_HUB_OFFLINE": "1", "TAILORGEN_QUIET": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")


def acceptance(synthetic: Path) -> float:
    from tailorgen.io import read_jsonl

    rows = read_jsonl(synthetic / "metadata.jsonl")
    return 100.0 * sum(r["accepted"] for r in rows) / max(1, len(rows))


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


def selection_score(run_dir: Path) -> float | None:
    """The zero-shot selection score of the kept epoch (what chose it; no test image involved)."""
    from tailorgen.io import read_jsonl

    scores = [e["val_map"] for e in read_jsonl(run_dir / "train" / "log.jsonl") if e["val_map"] is not None]
    return max(scores) if scores else None


def seed_data(work: Path, seed: int, args: argparse.Namespace) -> Path:
    from tailorgen.testing.shapes_coco import build_shapes_coco

    shutil.rmtree(work / "coco", ignore_errors=True)
    return build_shapes_coco(work / "coco", seed=seed, splits={**SPLITS, "test": args.test_images})


def run_seed(seed: int, args: argparse.Namespace, work: Path, pool: Any) -> dict[str, Any]:
    """Every row for one seed (its own data set, prompts, images; ``--inits`` trainings per row).

    Runs go to ``pool`` (generation first, then every classifier); cached in ``results.json``.
    """
    done = work / "results.json"
    if not args.resume and work.exists():  # a fresh start: the same table every time
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    done.unlink(missing_ok=True)
    data = seed_data(work, seed, args) if not (work / "coco" / "labels.json").is_file() else work / "coco"
    config = base_config(args.weights.resolve(), data, args, seed)
    for stage in (generation_runs(config), row_runs(config, work, args)):
        jobs = [pool.submit(run, cfg, work / name, stages, args.threads) for name, cfg, stages in stage]
        for job in jobs:
            job.result()
    baselines = json.loads((work / "c" / "eval.json").read_text())["models"]
    by_init = {
        row: [
            json.loads((work / f"{row}-i{i}" / "eval.json").read_text())["models"]["classifier"]
            for i in range(args.inits)
        ]
        for row in TRAINED
    }
    result = {
        "seed": seed,
        "metrics": {row: baselines[name] for row, name in BASELINE_ROWS.items()}
        | {row: mean_metrics(runs) for row, runs in by_init.items()},
        "by_init": {row: [r["zsl"]["mAP"] for r in runs] for row, runs in by_init.items()},
        "selection": {
            row: [selection_score(work / f"{row}-i{i}") for i in range(args.inits)] for row in TRAINED
        },
        "acceptance": {k: acceptance(work / k / "synthetic") for k in ("c", "d")},
        "chance": {s: chance_map(data, s) for s in ("zsl", "gzsl")},
    }
    done.write_text(json.dumps(result, indent=1) + "\n")
    return result


def mean_metrics(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The mean over initialisation seeds of every metric of ``METRICS``."""
    return {
        s: {m: sum(r[s][m] for r in runs) / len(runs) for ss, m in METRICS if ss == s}
        for s in ("zsl", "gzsl")
    }


def interval(values: list[float]) -> tuple[float, float | None]:
    """(mean, half-width of the 95% t-interval over the values); None for a single value."""
    import numpy as np
    from scipy import stats

    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, None
    half = float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values)))
    return mean, half


def cell(values: list[float], signed: bool = False) -> str:
    mean, half = interval(values)
    text = f"{mean:+.1f}" if signed else f"{mean:.1f}"
    return f"{text} ±{half:4.1f}" if half is not None else f"{text}      "


def table(results: list[dict[str, Any]]) -> str:
    """Means ± 95% t-interval half-widths over seeds; under each row its paired difference with the row above."""
    head = "".join(f"{f'{s.upper()} {m}':>14}" for s, m in METRICS)
    lines = [f"{'':5}{'row':30}{head}"]
    keys = list(ROWS)
    for index, key in enumerate(keys):
        values = [[r["metrics"][key][s][m] for r in results] for s, m in METRICS]
        lines.append(f"({key}){'':{3 - len(key)}}{ROWS[key]:30}" + "".join(f"{cell(v):>14}" for v in values))
        if index:
            above = keys[index - 1]
            diffs = [
                [r["metrics"][key][s][m] - r["metrics"][above][s][m] for r in results] for s, m in METRICS
            ]
            label = f"  - ({above}), paired"
            lines.append(f"{'':5}{label:30}" + "".join(f"{cell(d, signed=True):>14}" for d in diffs))
    chance = [cell([r["chance"][s] for r in results]) for s in ("zsl", "gzsl")]
    lines.append(f"{'':5}{'chance (label prevalence)':30}{chance[0]:>14}{'':14}{chance[1]:>14}")
    before, after = ([r["acceptance"][k] for r in results] for k in ("c", "d"))
    lines.append(f"filter acceptance before L_TE: {cell(before)} %")
    lines.append(f"filter acceptance after L_TE:  {cell(after)} %")
    lines.append(
        f"  after - before, paired:      {cell([a - b for a, b in zip(after, before, strict=True)], signed=True)} points"
    )
    if "by_init" in results[0]:
        inits = len(results[0]["by_init"]["a2"])
        spread = "  ".join(
            f"({k}) {sum(max(r['by_init'][k]) - min(r['by_init'][k]) for r in results) / len(results):.1f}"
            for k in TRAINED
        )
        lines.append(f"ZSL mAP spread over {inits} inits (max - min, mean over seeds): {spread}")
    seeds = [r["seed"] for r in results]
    lines.append(f"seeds {seeds}: mean ± half-width of the 95% t-interval over seeds (none for one seed)")
    return "\n".join(lines)


def headline(results: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """(the stronger zero-shot row, lines): (e) against the larger mean ZSL mAP of (a') and (a2)."""

    def values(row: str, setting: str = "zsl") -> list[float]:
        return [r["metrics"][row][setting]["mAP"] for r in results]

    best = max(("a'", "a2"), key=lambda row: interval(values(row))[0])
    lines = []
    for setting in ("zsl", "gzsl"):
        diffs = [e - b for e, b in zip(values("e", setting), values(best, setting), strict=True)]
        lines.append(
            f"(e) - ({best}) [max of (a'), (a2)], paired, {setting.upper()} mAP: {cell(diffs, signed=True)}"
        )
    ratio = interval(values("e"))[0] / interval(values(best))[0]
    return best, [*lines, f"ratio={ratio:.3f}"]


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``[]``: the defaults, for scripts that reuse this benchmark's runs)."""
    return parser().parse_args(argv)


def main() -> None:
    args = arguments()
    if args.quick:
        args.seeds = [args.seeds[0]]
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # this process too (chance, data): pinned
    start = time.monotonic()
    work = args.work or Path(tempfile.mkdtemp(prefix="shapes-zsmlc-"))
    try:  # runs share one pool of --jobs workers; each seed waits for its own in a coordinator thread
        with (
            ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool,
            ThreadPoolExecutor(max_workers=len(args.seeds)) as seeds,
        ):
            results = list(seeds.map(lambda s: run_seed(s, args, work / f"seed-{s}", pool), args.seeds))
        results.sort(key=lambda r: r["seed"])
    except RuntimeError as exc:  # a failed run: its command and output
        sys.exit(str(exc))
    (work / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    _, lines = headline(results)
    print(f"runs: {work} ({(time.monotonic() - start) / 60:.1f} min)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

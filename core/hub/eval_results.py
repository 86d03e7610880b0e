"""The evaluation of a run (``eval.json``) as card metadata and a Markdown table.

``eval.json`` holds, per evaluated model (this classifier and baselines such as plain CLIP),
nested metrics (``zsl``/``gzsl`` -> ``mAP``, ``F1@3`` ...) next to counts; only metrics are kept.
"""

from __future__ import annotations

import re
from typing import Any

from tailorgen.hub.run_facts import RunFacts

__all__ = ["THIS_MODEL", "eval_dataset", "eval_metrics", "eval_models", "metrics_table"]

#: the key of the published classifier among ``eval.json``'s models
THIS_MODEL = "classifier"
_NOT_A_METRIC = re.compile(
    r"^(n|n_.*|num_.*|images|labels|positives|skipped.*|ks|seed|source)$|count|seconds|time|size",
    re.IGNORECASE,
)


def eval_dataset(facts: RunFacts) -> tuple[str, str]:
    """(data set name, split) the evaluation ran on."""
    ev, section = facts.eval or {}, facts.config.get("evaluate") or {}
    name = ev.get("dataset") or section.get("dataset") or "unknown"
    name = name if isinstance(name, str) else str(name.get("name", "unknown"))
    return name, str(ev.get("split") or section.get("split") or "test")


def _flatten(node: Any, path: tuple[str, ...] = ()) -> dict[str, float]:
    if isinstance(node, dict):
        out: dict[str, float] = {}
        for key, value in node.items():
            if not _NOT_A_METRIC.search(str(key)):
                out |= _flatten(value, (*path, str(key)))
        return out
    if isinstance(node, int | float) and not isinstance(node, bool) and path:
        return {"/".join(path): float(node)}
    return {}


def eval_models(facts: RunFacts) -> dict[str, dict[str, float]]:
    """model -> {"gzsl/mAP": value, ...}; this classifier first, under :data:`THIS_MODEL`."""
    ev = facts.eval or {}
    models = ev.get("models")
    if not isinstance(models, dict):  # a flat eval.json: all of it is this model's
        models = {THIS_MODEL: {k: v for k, v in ev.items() if k not in {"dataset", "split"}}}
    found = {name: _flatten(result) for name, result in models.items()}
    ordered = {THIS_MODEL: found.pop(THIS_MODEL)} if THIS_MODEL in found else {}
    return {name: metrics for name, metrics in (ordered | found).items() if metrics}


def eval_metrics(facts: RunFacts) -> list[tuple[str, float]]:
    """This classifier's metrics as ("gzsl/mAP", value) pairs (empty without an evaluation)."""
    return list(eval_models(facts).get(THIS_MODEL, {}).items())


def metrics_table(facts: RunFacts) -> str:
    """This model's metrics beside the baselines evaluated with it."""
    models = eval_models(facts)
    if THIS_MODEL not in models:
        return "No evaluation was run (`eval.json` is missing)."
    names = list(models)
    header = " | ".join("**this model**" if n == THIS_MODEL else n for n in names)
    lines = [f"| metric | {header} |", "|---|" + "---:|" * len(names)]
    for metric in models[THIS_MODEL]:
        cells = " | ".join(f"{models[n][metric]:.4g}" if metric in models[n] else "-" for n in names)
        lines.append(f"| {metric} | {cells} |")
    return "\n".join(lines)

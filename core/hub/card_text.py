"""Markdown pieces shared by the model and data set cards: labels, data generation, evaluation."""

from __future__ import annotations

import json
import re
from typing import Any

from tailorgen.hub.run_facts import RunFacts

__all__ = [
    "eval_dataset",
    "eval_metrics",
    "generation_section",
    "labels_section",
    "metrics_table",
    "plugin_line",
]

_NOT_A_METRIC = re.compile(r"(^n_|^num_|count|seed|seconds|time|^n$|size)", re.IGNORECASE)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and not (isinstance(value, str) and len(value) > 80)


def plugin_line(facts: RunFacts, role: str) -> str:
    """``plugin`` and its scalar options, e.g. "`diffusers` (model = "sd2", steps = 50)"."""
    spec = facts.plugin(role)
    if not spec:
        return "not recorded"
    options = {k: v for k, v in (spec.get("options") or {}).items() if _scalar(v)}
    shown = ", ".join(f"{k} = {json.dumps(v)}" for k, v in options.items())
    return f"`{spec.get('plugin', '?')}`" + (f" ({shown})" if shown else "")


def labels_section(facts: RunFacts) -> str:
    labels = facts.label_set
    lines = [f"{len(labels.names)} labels from label set `{labels.name}`:", ""]
    for split in ("seen", "unseen"):
        names = getattr(labels, split)
        lines.append(f"- **{split}** ({len(names)}): {', '.join(names) or '-'}")
    if labels.confusable:
        lines.append("- never generated together: " + ", ".join(f"{a}/{b}" for a, b in labels.confusable))
    return "\n".join(lines)


def _filter_rule(facts: RunFacts) -> str:
    """The acceptance rule in words, from the discriminator's options (where the generate stage reads it)."""
    from pydantic import ValidationError
    from tailorgen.synthetic.rule import AcceptanceRule

    options = facts.plugin("discriminator").get("options") or {}
    try:
        rule = AcceptanceRule.model_validate(
            {k: v for k, v in options.items() if k in AcceptanceRule.model_fields}
        )
    except ValidationError:
        return "not recorded"
    return rule.describe()


def generation_section(facts: RunFacts, text_encoder_repo: str | None = None) -> str:
    """How the synthetic training images were made, with the run's acceptance rates."""
    finetuned = facts.text_encoder_dir.is_dir()
    lines = [
        "Training images are synthetic, tailored to the unseen labels "
        "([Zhang et al., 2024](https://arxiv.org/abs/2404.03144)):",
        "",
        f"1. **Prompts**: an LLM wrote scene descriptions for sampled label combinations: {plugin_line(facts, 'prompt_writer')}.",
        f"2. **Images**: a diffusion model drew them: {plugin_line(facts, 'generator')}"
        + (
            "; its text encoder was first fine-tuned so that the filter accepts more images (L_TE)"
            if finetuned
            else ""
        )
        + (
            f", published as [{text_encoder_repo}](https://huggingface.co/{text_encoder_repo})"
            if text_encoder_repo
            else ""
        )
        + ".",
        f"3. **Filter**: CLIP scored every image against the unseen labels (grouping softmax): "
        f"{plugin_line(facts, 'discriminator')}; acceptance rule: {_filter_rule(facts)}.",
    ]
    acc = facts.acceptance
    if acc is None:
        return "\n".join(lines)
    lines += [
        "",
        f"The filter kept **{acc.accepted} of {acc.generated}** generated images ({acc.rate:.1%}).",
        "",
    ]
    lines += ["| label | accepted | generated | rate |", "|---|---:|---:|---:|"]
    for name, (kept, tried) in acc.per_label.items():
        lines.append(f"| {name} | {kept} | {tried} | {kept / tried:.1%} |")
    return "\n".join(lines)


def _skipped(path: tuple[str, ...]) -> bool:
    return any(_NOT_A_METRIC.search(part) for part in path)


def eval_dataset(facts: RunFacts) -> tuple[str, str]:
    """(data set name, split) the evaluation ran on."""
    ev, section = facts.eval or {}, facts.config.get("evaluate") or {}
    name = ev.get("dataset") or section.get("dataset") or "unknown"
    name = name if isinstance(name, str) else str(name.get("name", "unknown"))
    return name, str(ev.get("split") or section.get("split") or "test")


def eval_metrics(facts: RunFacts) -> list[tuple[str, float]]:
    """Numeric results of ``eval.json``, flattened to ("gzsl/mAP", 0.61) pairs."""
    out: list[tuple[str, float]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, str(key)))
        elif isinstance(node, int | float) and not isinstance(node, bool) and path and not _skipped(path):
            out.append(("/".join(path), float(node)))

    walk({k: v for k, v in (facts.eval or {}).items() if k not in {"dataset", "split"}}, ())
    return out


def metrics_table(metrics: list[tuple[str, float]]) -> str:
    if not metrics:
        return "No evaluation was run (`eval.json` is missing)."
    return "\n".join(
        ["| metric | value |", "|---|---:|", *(f"| {name} | {value:.4g} |" for name, value in metrics)]
    )

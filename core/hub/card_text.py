"""Markdown pieces shared by the model and data set cards: the label set and how the data were made."""

from __future__ import annotations

import json
import re
from pathlib import PurePath
from typing import Any

from tailorgen.hub.run_facts import RunFacts
from tailorgen.redact import mask_url

__all__ = ["generation_section", "labels_section", "plugin_line", "public_name"]

_LOCAL = re.compile(r"^(local-dir:)?(/|~|\.{1,2}/|[A-Za-z]:[\\/])")


def public_name(value: Any) -> Any:
    """A model reference fit for a public card: local paths shrink to ``<local>/name`` (no home dirs),
    URLs lose their credentials (user-info, query values)."""
    if isinstance(value, str) and _LOCAL.match(value):
        return f"<local>/{PurePath(value.removeprefix('local-dir:')).name}"
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return mask_url(value)
    return value


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and not (isinstance(value, str) and len(value) > 80)


def plugin_line(facts: RunFacts, role: str) -> str:
    """``plugin`` and its scalar options, e.g. "`diffusers` (model = "sd2", steps = 50)"."""
    spec = facts.plugin(role)
    if not spec:
        return "not recorded"
    options = {k: public_name(v) for k, v in (spec.get("options") or {}).items() if _scalar(v)}
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


def _prompt_stats(facts: RunFacts) -> str:
    """Diversity of the prompts the run kept (from the prompts stage's report)."""
    stats = facts.prompts_report.get("all") or {}
    parts = [f"{stats['accepted']} prompts kept"] if isinstance(stats.get("accepted"), int) else []
    for key, label in (("distinct_2", "distinct-2"), ("embedding_diversity", "embedding spread")):
        if isinstance(stats.get(key), int | float):
            parts.append(f"{label} {stats[key]:.2f}")
    if isinstance(stats.get("mean_words"), int | float):
        parts.append(f"{stats['mean_words']:.1f} words on average")
    if isinstance(stats.get("rejected_share"), int | float):
        parts.append(f"{stats['rejected_share']:.0%} of candidates rejected")
    return f"; {', '.join(parts)}" if parts else ""


def generation_section(facts: RunFacts, text_encoder_repo: str | None = None) -> str:
    """How the synthetic training images were made, with the run's acceptance rates."""
    finetuned = facts.text_encoder_dir.is_dir()
    lines = [
        "Training images are synthetic, tailored to the unseen labels "
        "([Zhang et al., 2024](https://arxiv.org/abs/2404.03144)):",
        "",
        f"1. **Prompts**: an LLM wrote scene descriptions for sampled label combinations: "
        f"{plugin_line(facts, 'prompt_writer')}{_prompt_stats(facts)}.",
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

"""``prompts_report.json``: coverage, rejections, lexical and embedding diversity per writer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from tailorgen.prompting.diversity import distinct_n, mean_words
from tailorgen.prompting.matching import LabelMatcher

__all__ = ["format_table", "prompt_report"]


def _summary(
    records: Sequence[dict[str, Any]], matcher: LabelMatcher, embed: Callable[[list[str]], float] | None
) -> dict[str, Any]:
    accepted = [r for r in records if r["accepted"]]
    texts = [r["text"] for r in accepted]
    reasons = Counter(r["reason"] for r in records if not r["accepted"])
    covered = sum(not matcher.missing(r["text"], r["labels"]) for r in accepted)
    return {
        "candidates": len(records),
        "accepted": len(accepted),
        "coverage": covered / len(accepted) if accepted else None,
        "rejected_share": len(records) and (len(records) - len(accepted)) / len(records),
        "rejected_by_reason": {k: v / len(records) for k, v in sorted(reasons.items())},
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "distinct_3": distinct_n(texts, 3),
        "mean_words": mean_words(texts),
        "embedding_diversity": embed(texts) if embed and len(texts) > 1 else None,
    }


def prompt_report(
    records: Sequence[dict[str, Any]],
    matcher: LabelMatcher,
    planned_sets: Sequence[str],
    per_set: int,
    embed: Callable[[list[str]], float] | None = None,
) -> dict[str, Any]:
    """Per-writer and overall figures (accepted prompts only for coverage and diversity)."""
    accepted_per_set = Counter(r["set_id"] for r in records if r["accepted"])
    by_writer: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_writer.setdefault(record["writer"], []).append(record)
    return {
        "sets": len(planned_sets),
        "prompts_per_set": per_set,
        "short_sets": [s for s in planned_sets if accepted_per_set[s] < per_set],
        "paths": dict(sorted(Counter(r["path"] for r in records if r["accepted"]).items())),
        "writers": {name: _summary(recs, matcher, embed) for name, recs in sorted(by_writer.items())},
        "all": _summary(records, matcher, embed),
    }


def format_table(report: dict[str, Any]) -> str:
    """A few lines for the terminal."""

    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    head = [
        "writer",
        "accepted",
        "coverage",
        "rejected",
        "distinct-1",
        "distinct-2",
        "distinct-3",
        "words",
        "emb-div",
    ]
    rows = [head]
    for name, s in [*report["writers"].items(), ("all", report["all"])]:
        rows.append(
            [
                name,
                s["accepted"],
                s["coverage"],
                s["rejected_share"],
                s["distinct_1"],
                s["distinct_2"],
                s["distinct_3"],
                s["mean_words"],
                s["embedding_diversity"],
            ]
        )
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    reasons = ", ".join(f"{k} {v:.1%}" for k, v in report["all"]["rejected_by_reason"].items()) or "none"
    short = len(report["short_sets"])
    lines.append(f"rejected by reason: {reasons}; sets short of {report['prompts_per_set']}: {short}")
    return "\n".join(lines)

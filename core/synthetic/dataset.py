"""The finished data set: ``metadata.jsonl`` (imagefolder layout), ``rejected.jsonl`` and the per-label report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tailorgen.io import atomic_write_text
from tailorgen.synthetic.plan import Item, PromptPool, RoundBudget, Tally
from tailorgen.synthetic.store import ImageStore

__all__ = ["dataset_rows", "label_report", "write_metadata", "write_rejected"]

#: journal-only fields, not part of the published records
_PRIVATE = ("id", "digest")


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def dataset_rows(items: list[Item], store: ImageStore) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Published records in plan order: rows with an image, and attempts without one, each with its
    ``reason``: ``filter`` (the filter rejected it) or ``surplus`` (the filter accepted it, but a
    label of its set already had quota images)."""
    rows: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for item in items:
        record = store.done(item)
        assert record is not None, item
        public = {k: v for k, v in record.items() if k not in _PRIVATE}
        if store.needs_file(record):
            rows.append(public)
        else:
            public.pop("file_name", None)
            public.pop("sha256", None)
            reason = "surplus" if item.id in store.surplus else "filter"
            rejected.append({**public, "accepted": False, "reason": reason})
    return rows, rejected


def write_rejected(root: Path, rows: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> None:
    """Write ``rejected.jsonl`` (the attempts not in the data set) and delete unlisted images."""
    listed = {row["file_name"] for row in rows}
    for path in sorted((root / "images").glob("*")):
        if f"images/{path.name}" not in listed:
            path.unlink(missing_ok=True)  # surplus, left by a run with other settings, or a temp file
    atomic_write_text(root / "rejected.jsonl", _jsonl(rejected))


def write_metadata(root: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``metadata.jsonl`` (imagefolder layout) last: its presence marks the data set complete."""
    atomic_write_text(root / "metadata.jsonl", _jsonl(rows))


def label_report(
    targets: list[str], pool: PromptPool, tally: Tally, budget: RoundBudget, *, round_limit: bool
) -> list[dict[str, Any]]:
    """Per target label: quota, accepted (at most the quota), surplus, attempts, the filter's
    acceptance rate (accepted and surplus over attempts) and why generation stopped."""
    report = []
    for label in targets:
        attempts, accepted = tally.attempts[label], tally.accepted[label]
        if accepted >= budget.quota:
            status = "quota met"
        elif not pool.sets_with(label):
            status = "no prompts"
        elif attempts >= budget.max_attempts:
            status = "attempt budget spent"
        elif round_limit:
            status = "round limit reached"
        else:  # every label set with prompts holding it also holds a label that left the pool
            status = "no label set left"
        report.append(
            {
                "label": label,
                "quota": budget.quota,
                "accepted": accepted,
                "surplus": tally.surplus[label],
                "attempts": attempts,
                "acceptance_rate": round(tally.passed(label) / attempts, 4) if attempts else None,
                "status": status,
            }
        )
    return report

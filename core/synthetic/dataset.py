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
    """Published records in plan order: rows with an image, and rejected attempts without one."""
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
            rejected.append(public)
    return rows, rejected


def write_rejected(root: Path, rows: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> None:
    """Write ``rejected.jsonl`` (scores of rejected images not kept) and delete unlisted images."""
    listed = {row["file_name"] for row in rows}
    for path in sorted((root / "images").glob("*")):
        if f"images/{path.name}" not in listed:
            path.unlink(missing_ok=True)  # left by a run with other settings, or a temp file
    atomic_write_text(root / "rejected.jsonl", _jsonl(rejected))


def write_metadata(root: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``metadata.jsonl`` (imagefolder layout) last: its presence marks the data set complete."""
    atomic_write_text(root / "metadata.jsonl", _jsonl(rows))


def label_report(
    targets: list[str], pool: PromptPool, records: list[dict[str, Any]], budget: RoundBudget
) -> list[dict[str, Any]]:
    """Per target label: quota, accepted, attempts, acceptance rate and why generation stopped."""
    tally = Tally.of(records)
    report = []
    for label in targets:
        attempts, accepted = tally.attempts[label], tally.accepted[label]
        if accepted >= budget.quota:
            status = "quota met"
        elif not pool.sets_with(label):
            status = "no prompts"
        elif attempts >= budget.max_attempts:
            status = "attempt budget spent"
        else:
            status = "round limit reached"
        report.append(
            {
                "label": label,
                "quota": budget.quota,
                "accepted": accepted,
                "attempts": attempts,
                "acceptance_rate": round(accepted / attempts, 4) if attempts else None,
                "status": status,
            }
        )
    return report

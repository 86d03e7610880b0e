"""After the last round: the summary, and (main process) the data set files, card and contact sheet."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tailorgen.context import RunContext
from tailorgen.io import atomic_write_json, atomic_write_text
from tailorgen.synthetic.card import CardFacts, render_card
from tailorgen.synthetic.dataset import dataset_rows, label_report, write_metadata, write_rejected
from tailorgen.synthetic.plan import Item, PromptPool, RoundBudget, Tally
from tailorgen.synthetic.rule import AcceptanceRule
from tailorgen.synthetic.sheet import write_contact_sheet
from tailorgen.synthetic.store import ImageStore

__all__ = ["Outcome", "summarize", "write_outputs"]


@dataclass(frozen=True)
class Outcome:
    """What the rounds produced: every item, the per-label report and the stage summary."""

    items: list[Item]
    report: list[dict[str, Any]]
    summary: dict[str, Any]


def summarize(
    items: list[Item],
    tally: Tally,
    rounds: int,
    store: ImageStore,
    pool: PromptPool,
    *,
    targets: list[str],
    budget: RoundBudget,
    round_limit: bool,
) -> Outcome:
    records = [store.done(item) or {} for item in items]
    report = label_report(targets, pool, tally, budget, round_limit=round_limit)
    sizes = Counter(len(item.targets) for item in items)
    summary = {
        "images": sum(1 for r in records if store.needs_file(r)),
        "accepted": sum(1 for r in records if r["accepted"]) - len(tally.surplus_ids),
        "surplus": len(tally.surplus_ids),
        "attempts": len(records),
        "rounds": rounds,
        # images per label-set size (the reference draws single labels only on duplicate draws)
        "label_set_sizes": {str(size): sizes[size] for size in sorted(sizes)},
        "labels_short": [row["label"] for row in report if row["status"] != "quota met"],
    }
    return Outcome(items, report, summary)


def write_outputs(
    ctx: RunContext,
    outcome: Outcome,
    store: ImageStore,
    plugins: tuple[Any, Any, AcceptanceRule],
    *,
    encoder: Path | None,
    contact_sheet: bool,
) -> None:
    """Write rejected.jsonl, report.json, README.md and the contact sheet, then metadata.jsonl last
    (its presence marks the data set complete, so a kill in between leaves it visibly unfinished)."""
    generator, discriminator, rule = plugins
    root = store.root
    rows, rejected = dataset_rows(outcome.items, store)
    write_rejected(root, rows, rejected)
    atomic_write_json(root / "report.json", {"summary": outcome.summary, "labels": outcome.report})
    facts = CardFacts(
        label_set=ctx.labels.name,
        labels=[row["label"] for row in outcome.report],
        generator={"plugin": generator.name, **generator.options.model_dump(mode="json")},
        discriminator={"plugin": discriminator.name, **discriminator.options.model_dump(mode="json")},
        rule=rule.describe(),
        text_encoder=f"fine-tuned, from {encoder}" if encoder else "the pipeline's own (not fine-tuned)",
        seed=ctx.seed,
        report=outcome.report,
        images=outcome.summary["images"],
        accepted=outcome.summary["accepted"],
        surplus=outcome.summary["surplus"],
        attempts=outcome.summary["attempts"],
        rounds=outcome.summary["rounds"],
        tailorgen_version=version("tailorgen"),
    )
    atomic_write_text(root / "README.md", render_card(facts))
    if contact_sheet:
        write_contact_sheet(ctx.run_dir, rows=rows)
    write_metadata(root, rows)

"""The label sets and accepted prompts fine-tuning draws from (read from ``prompts.jsonl``)."""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.io import read_jsonl

__all__ = ["PromptPool"]

#: generation-style draws tried before any set with prompts is taken (only when most sets lack prompts)
MAX_REDRAWS = 1000


@dataclass(frozen=True)
class PromptPool:
    """Accepted prompts grouped by label set, in a stable order so a seed picks the same draw."""

    sets: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]], allowed: Iterable[str]) -> PromptPool:
        """Group accepted records by their (sorted) label set; every label must be in ``allowed``."""
        known = set(allowed)
        grouped: dict[tuple[str, ...], list[str]] = {}
        for record in records:
            if not record.get("accepted"):
                continue
            labels = tuple(sorted(set(record["labels"])))
            stray = [label for label in labels if label not in known]
            if stray:
                raise TailorgenError(
                    f"prompt {record['text']!r} is for label(s) {', '.join(stray)}, which are not unseen labels",
                    "fine-tuning scores against the unseen labels; rerun the prompts stage for this label set",
                )
            grouped.setdefault(labels, [])
            if record["text"] not in grouped[labels]:
                grouped[labels].append(record["text"])
        return cls(tuple((labels, tuple(texts)) for labels, texts in sorted(grouped.items())))

    @classmethod
    def load(cls, path: Path, allowed: Iterable[str]) -> PromptPool:
        pool = cls.from_records(read_jsonl(path), allowed)
        if not pool.sets:
            raise TailorgenError(
                f"{path} has no accepted prompts", "run the prompts stage first: --stages prompts"
            )
        return pool

    def draw(
        self,
        seed: int,
        count: int = 1,
        *,
        label_sets: str = "prompt-sets",
        extra_draw: bool = True,
        retired: Collection[str] = (),
    ) -> tuple[tuple[str, ...], list[str]]:
        """One label set and ``count`` of its prompts (with replacement), both chosen by ``seed``.

        ``label_sets = "prompt-sets"``: uniform over the label sets with prompts (about one single-label
        set in nine for COCO's 149). ``"generation"``: as the reference's L_TE loop, the generation
        draw (``draw_independent``: ``k`` labels, duplicates dropped, ``extra_draw``) over the labels,
        drawn again until the set has prompts, so single-label sets are rare (COCO: 0.35%). Labels in
        ``retired`` are left out of the generation draw (when every label is retired, none is).
        """
        rng = random.Random(seed)
        if label_sets == "generation":
            labels, texts = self._generation_draw(rng, extra_draw, set(retired))
        else:
            labels, texts = rng.choice(self.sets)
        return labels, [rng.choice(texts) for _ in range(count)]

    def _generation_draw(
        self, rng: random.Random, extra_draw: bool, retired: set[str]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        from tailorgen.data.label_sampling import draw_independent

        names = sorted({name for labels, _ in self.sets for name in labels})
        names = [name for name in names if name not in retired] or names
        by_labels = {labels: texts for labels, texts in self.sets if retired.isdisjoint(labels)} or dict(
            self.sets
        )
        k = max(len(labels) for labels, _ in self.sets)
        for _ in range(MAX_REDRAWS):  # a confusable pair, or a set without prompts, is drawn again
            labels = tuple(sorted(draw_independent(rng, names, k, extra_draw=extra_draw)))
            if labels in by_labels:
                return labels, by_labels[labels]
        return rng.choice(list(by_labels.items()))

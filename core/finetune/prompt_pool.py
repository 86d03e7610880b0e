"""The label sets and accepted prompts fine-tuning draws from (read from ``prompts.jsonl``)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.io import read_jsonl

__all__ = ["PromptPool"]


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

    def draw(self, seed: int, count: int = 1) -> tuple[tuple[str, ...], list[str]]:
        """One label set and ``count`` of its prompts (with replacement), both chosen by ``seed``."""
        rng = random.Random(seed)
        labels, texts = rng.choice(self.sets)
        return labels, [rng.choice(texts) for _ in range(count)]

"""What to generate: label sets and prompts from ``prompts.jsonl``, planned round by round.

Every choice is a pure function of the config and of the outcome of earlier rounds, so every
process of a launch, and every rerun of a killed one, plans exactly the same items.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.io import read_jsonl
from tailorgen.labels import LabelSet

__all__ = ["Item", "PromptPool", "RoundBudget", "Tally", "plan_round"]


@dataclass(frozen=True)
class Item:
    """One image to draw: its number, round, target label set, prompt and seed."""

    id: int
    round: int
    targets: tuple[str, ...]
    prompt: str
    seed: int

    @property
    def file_name(self) -> str:
        return f"images/{self.id:06d}.png"


@dataclass
class PromptPool:
    """The accepted prompts of ``prompts.jsonl``, by label set (labels in label-set order)."""

    sets: dict[tuple[str, ...], list[str]]

    @classmethod
    def load(cls, path: Path, labels: LabelSet) -> PromptPool:
        if not path.exists():
            raise TailorgenError(
                f"{path} not found", "run the prompts stage first: --stages prompts,generate"
            )
        order = {name: i for i, name in enumerate(labels.names)}
        sets: dict[tuple[str, ...], list[str]] = {}
        for number, record in enumerate(read_jsonl(path), 1):
            if not record.get("accepted"):
                continue
            names = record.get("labels")
            text = record.get("text")
            if not isinstance(names, list) or not names or not isinstance(text, str):
                raise TailorgenError(f"{path}:{number}: an accepted record needs 'labels' (list) and 'text'")
            unknown = [n for n in names if n not in order]
            if unknown:
                raise TailorgenError(
                    f"{path}:{number}: label(s) {', '.join(unknown)} are not in label set {labels.name!r}",
                    "rerun the prompts stage with this run's label set",
                )
            key = tuple(sorted(set(names), key=order.__getitem__))
            prompts = sets.setdefault(key, [])
            if text not in prompts:
                prompts.append(text)
        return cls(dict(sorted(sets.items(), key=lambda kv: [order[n] for n in kv[0]])))

    def sets_with(self, label: str) -> list[tuple[str, ...]]:
        return [key for key in self.sets if label in key]

    def labels(self) -> set[str]:
        return {name for key in self.sets for name in key}


@dataclass
class Tally:
    """Attempts and accepted images per target label so far."""

    attempts: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, records: Iterable[dict[str, Any]]) -> Tally:
        tally = cls()
        for record in records:
            tally.attempts.update(record["targets"])
            if record["accepted"]:
                tally.accepted.update(record["targets"])
        return tally


@dataclass(frozen=True)
class RoundBudget:
    """How much to ask for: the quota, the per-label attempt budget and the acceptance guesses."""

    quota: int
    max_attempts: int
    expected_acceptance: float
    min_acceptance: float

    def wanted(self, label: str, tally: Tally) -> int:
        """Attempts to plan for ``label`` this round (0 when done or out of budget)."""
        deficit = self.quota - tally.accepted[label]
        left = self.max_attempts - tally.attempts[label]
        if deficit <= 0 or left <= 0:
            return 0
        tried = tally.attempts[label]
        rate = tally.accepted[label] / tried if tried else self.expected_acceptance
        return min(left, math.ceil(deficit / max(rate, self.min_acceptance)))


def plan_round(
    pool: PromptPool,
    targets: list[str],
    tally: Tally,
    budget: RoundBudget,
    *,
    round_no: int,
    first_id: int,
    seed_for: Callable[..., int],
) -> list[Item]:
    """Items of round ``round_no``: for each label short of quota, images of label sets holding it."""
    items: list[Item] = []
    for label in targets:
        choices = pool.sets_with(label)
        if not choices:
            continue
        for j in range(budget.wanted(label, tally)):
            rng = random.Random(seed_for("generate", "pick", round_no, label, j))
            key = rng.choice(choices)
            prompt = rng.choice(pool.sets[key])
            seed = seed_for("generate", "image", round_no, label, j)
            items.append(Item(first_id + len(items), round_no, key, prompt, seed))
    return items

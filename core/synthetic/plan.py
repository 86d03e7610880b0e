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
from typing import Any, Literal

from tailorgen.data.label_sampling import draw_independent, never_confused
from tailorgen.data.labels import LabelSet
from tailorgen.errors import TailorgenError
from tailorgen.io import read_jsonl

__all__ = ["DrawRule", "Item", "PromptPool", "RoundBudget", "Tally", "plan_round"]


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
    """Per target label: attempts, accepted images (at most the quota) and surplus ones.

    The quota is a cap: records are counted in plan order, and an image the filter accepted whose
    label set holds a label that already has ``quota`` accepted images is *surplus* (it was drawn
    in the same round as the images that filled that label), never part of the data set.
    """

    attempts: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    surplus: Counter[str] = field(default_factory=Counter)
    surplus_ids: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, records: Iterable[dict[str, Any] | None], quota: int) -> Tally:
        """Count ``records`` in plan order up to the first missing one (``None``): an image is
        surplus or not depending on every image before it."""
        tally = cls()
        for record in records:
            if record is None:
                break
            targets = record["targets"]
            tally.attempts.update(targets)
            if not record["accepted"]:
                continue
            if all(tally.accepted[name] < quota for name in targets):
                tally.accepted.update(targets)
            else:
                tally.surplus.update(targets)
                tally.surplus_ids.add(record["id"])
        return tally

    def passed(self, label: str) -> int:
        """Images holding ``label`` that the filter accepted (kept or surplus)."""
        return self.accepted[label] + self.surplus[label]


@dataclass(frozen=True)
class RoundBudget:
    """How much to ask for: the quota, the per-label attempt budget and the acceptance guesses."""

    quota: int
    max_attempts: int
    expected_acceptance: float
    min_acceptance: float

    def wanted(self, label: str, tally: Tally) -> int:
        """Attempts ``label`` is expected to need to fill its quota (0 when done or out of budget)."""
        deficit = self.quota - tally.accepted[label]
        left = self.max_attempts - tally.attempts[label]
        if deficit <= 0 or left <= 0:
            return 0
        tried = tally.attempts[label]
        rate = tally.passed(label) / tried if tried else self.expected_acceptance
        return min(left, math.ceil(deficit / max(rate, self.min_acceptance)))


@dataclass(frozen=True)
class DrawRule:
    """How a round draws label sets: ``independent`` (the reference: ``k`` labels drawn with
    replacement from the labels still short, duplicates dropped) or ``per-label`` (tailorgen's
    older mix: a short label, then any label set holding it). Confusable pairs are never drawn."""

    mode: Literal["independent", "per-label"]
    labels: LabelSet
    #: independent draws: one more draw for a set a duplicate left short (the reference's COCO loop)
    extra_draw: bool = True

    def allowed(self, key: tuple[str, ...]) -> bool:
        return never_confused(self.labels, key)


#: independent draws tried before a draw takes any drawable set (only when prompts.jsonl lacks most sets)
MAX_REDRAWS = 1000


def _drawable(pool: PromptPool, draw: DrawRule, active: list[str]) -> tuple[list[str], list[tuple[str, ...]]]:
    """The label sets made only of ``active`` labels (allowed, with prompts), and the active labels
    that some such set holds (a label whose every set holds a finished label cannot be drawn)."""
    while True:
        names = set(active)
        keys = [key for key in pool.sets if names.issuperset(key) and draw.allowed(key)]
        covered = [name for name in active if any(name in key for key in keys)]
        if covered == active:
            return active, keys
        active = covered


def _draw(
    rng: random.Random, draw: DrawRule, active: list[str], keys: list[tuple[str, ...]], k: int
) -> tuple[str, ...]:
    if draw.mode == "per-label":
        label = rng.choice(active)
        return rng.choice([key for key in keys if label in key])
    order = {name: i for i, name in enumerate(active)}
    drawable = set(keys)
    for _ in range(MAX_REDRAWS):  # a confusable pair, or a set without prompts, is drawn again
        key = tuple(
            sorted(draw_independent(rng, active, k, extra_draw=draw.extra_draw), key=order.__getitem__)
        )
        if key in drawable:
            return key
    return rng.choice(keys)


def plan_round(
    pool: PromptPool,
    targets: list[str],
    tally: Tally,
    budget: RoundBudget,
    *,
    draw: DrawRule,
    round_no: int,
    first_id: int,
    max_items: int,
    seed_for: Callable[..., int],
) -> list[Item]:
    """Items of round ``round_no``: up to ``max_items`` label sets drawn from the labels short of quota.

    A label leaves the pool as soon as this round holds the attempts it is expected to need
    (``budget.wanted``: its deficit at its measured acceptance rate), so a round rarely draws much
    past a quota, and never past a label's attempt budget.
    """
    need = {label: budget.wanted(label, tally) for label in targets}
    active = [label for label in targets if need[label] > 0]
    k = max((len(key) for key in pool.sets), default=1)
    rng = random.Random(seed_for("generate", "draw", round_no))
    items: list[Item] = []
    keys: list[tuple[str, ...]] = []
    changed = True
    while len(items) < max_items:
        if changed:
            active, keys = _drawable(pool, draw, active)
            changed = False
        if not keys:
            break
        key = _draw(rng, draw, active, keys, k)
        prompt = rng.choice(pool.sets[key])
        seed = seed_for("generate", "image", round_no, len(items))
        items.append(Item(first_id + len(items), round_no, key, prompt, seed))
        for label in key:
            need[label] -= 1
            if need[label] <= 0:
                active.remove(label)
                changed = True
    return items

"""Label-set sampling: which combinations of unseen labels the pipeline writes prompts and images for.

A label set is a tuple of label names in the label set's index order (so ``("cat", "dog")`` and
``("dog", "cat")`` are one set). Confusable pairs (``LabelSet.confusable``) are never put together.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence

from tailorgen.data.labels import LabelSet
from tailorgen.errors import ConfigError

__all__ = ["LabelSetSampler", "draw_independent", "never_confused", "set_id"]

LabelCombo = tuple[str, ...]


def never_confused(labels: LabelSet, combo: Sequence[str]) -> bool:
    """Whether no two labels of ``combo`` are a confusable pair of ``labels``."""
    return not any(labels.are_confusable(a, b) for a, b in itertools.combinations(combo, 2))


def draw_independent(
    rng: random.Random, pool: Sequence[str], k: int, *, extra_draw: bool = True
) -> list[str]:
    """The reference generation loop's draw: ``k`` labels with replacement from ``pool``, duplicates
    dropped; a set left short gets one more draw, duplicates dropped again (``extra_draw``).

    With the extra draw a single label needs a duplicate draw twice over (about 1/n**2 of the draws
    from n labels at k=2: 0.35% for COCO's 17 unseen labels), as in the reference's COCO loop; its
    NUS-WIDE loop has no extra draw (about 1/n: 1.2% of 81 labels).
    """
    chosen = list(dict.fromkeys(rng.choice(pool) for _ in range(k)))
    if extra_draw and len(chosen) < k:
        chosen = list(dict.fromkeys([*chosen, rng.choice(pool)]))
    return chosen


def set_id(labels: Sequence[str]) -> str:
    """A stable, readable id of a label set: its names joined with ``+`` (``"cat+dog"``)."""
    return "+".join(labels)


class LabelSetSampler:
    """Draws label sets of size 1..k from a pool of labels (default: the unseen labels).

    ``exhaustive()`` lists every allowed set; ``sample(n)`` draws ``n`` sets with replacement such
    that every label appears about equally often (a duplicate draw gives a smaller set, as in the paper).
    """

    def __init__(
        self, labels: LabelSet, k: int = 2, pool: Sequence[str] | None = None, seed: int = 0
    ) -> None:
        if k < 1:
            raise ConfigError(f"label sets need at least one label per set, got k={k}", "set prompts.k >= 1")
        self.labels = labels
        self.k = k
        self.seed = seed
        names = list(pool) if pool is not None else labels.unseen
        unknown = sorted(set(names) - set(labels.names))
        if unknown:
            raise ConfigError(f"label pool names unknown label(s): {', '.join(unknown)}")
        if not names:
            raise ConfigError(
                f"label set {labels.name!r} has no unseen labels to write prompts for",
                "mark the labels to generate images for with split = 'unseen'",
            )
        order = {n: i for i, n in enumerate(labels.names)}
        self.pool: list[str] = sorted(set(names), key=order.__getitem__)
        self._order = order

    def canonical(self, labels: Sequence[str]) -> LabelCombo:
        """Deduplicate and sort names into index order."""
        return tuple(sorted(set(labels), key=self._order.__getitem__))

    def allowed(self, combo: Sequence[str]) -> bool:
        return never_confused(self.labels, combo)

    def exhaustive(self) -> list[LabelCombo]:
        """Every allowed set of 1..k distinct labels (for k=2: singles, then unordered pairs)."""
        out: list[LabelCombo] = []
        for size in range(1, min(self.k, len(self.pool)) + 1):
            out.extend(c for c in itertools.combinations(self.pool, size) if self.allowed(c))
        return out

    def sample(self, n: int) -> list[LabelCombo]:
        """``n`` sets drawn with even label coverage (seeded; the same seed gives the same list)."""
        return list(itertools.islice(self.stream(), n))

    def sample_distinct(self, n: int) -> list[LabelCombo]:
        """The first ``n`` different sets of :meth:`stream` (fewer when fewer sets exist)."""
        limit = min(n, len(self.exhaustive()))
        found: dict[LabelCombo, None] = {}
        for combo in self.stream():
            if len(found) >= limit:
                break
            found.setdefault(combo)
        return list(found)

    def stream(self) -> Iterator[LabelCombo]:
        """An endless stream of sets: each slot picks among the least-used allowed labels.

        Slots after the first may draw a label already in the set (a duplicate draw), with the same
        chance as any one label, which yields a smaller set, so singles occur as in the paper.
        """
        rng = random.Random(self.seed)
        uses = dict.fromkeys(self.pool, 0)
        while True:
            chosen: list[str] = []
            for _ in range(self.k):
                candidates = [n for n in self.pool if n not in chosen and self.allowed([*chosen, n])]
                if not candidates:
                    break
                least = min(uses[n] for n in candidates)
                pick = rng.choice([n for n in candidates if uses[n] == least])
                if chosen and rng.random() < 1 / len(self.pool):  # duplicate draw: keep the set smaller
                    continue
                chosen.append(pick)
            for name in chosen:
                uses[name] += 1
            yield self.canonical(chosen)

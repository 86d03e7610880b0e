"""Label-set sampling: exhaustive sets, confusable pairs, determinism and coverage."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from tailorgen.data.label_sampling import LabelSetSampler, draw_independent
from tailorgen.data.labels import load_label_set
from tailorgen.errors import ConfigError

COCO = load_label_set("coco-48-17")


def test_exhaustive_coco_48_17_has_149_sets() -> None:
    sets = LabelSetSampler(COCO, k=2).exhaustive()
    assert len(sets) == 149
    assert sum(len(s) == 1 for s in sets) == 17
    assert len(set(sets)) == 149
    assert all(set(s) <= set(COCO.unseen) for s in sets)
    assert not any(COCO.are_confusable(a, b) for s in sets for a, b in itertools.combinations(s, 2))
    order = COCO.names
    assert all(list(s) == sorted(s, key=order.index) for s in sets)


def test_sampling_is_seeded_even_and_never_confusable() -> None:
    draws = LabelSetSampler(COCO, k=2, seed=3).sample(340)
    assert draws == LabelSetSampler(COCO, k=2, seed=3).sample(340)
    assert draws != LabelSetSampler(COCO, k=2, seed=4).sample(340)
    assert not any(COCO.are_confusable(a, b) for s in draws for a, b in itertools.combinations(s, 2))
    uses = Counter(name for s in draws for name in s)
    assert set(uses) == set(COCO.unseen)
    assert max(uses.values()) - min(uses.values()) <= 2
    assert 1 <= sum(len(s) == 1 for s in draws) < 80  # duplicate draws give singles, but rarely


def test_sample_distinct_stops_at_the_number_of_sets() -> None:
    sampler = LabelSetSampler(COCO, k=2, seed=0)
    assert len(set(sampler.sample_distinct(40))) == 40
    assert len(sampler.sample_distinct(10_000)) == 149


def test_k3_exhaustive_and_errors() -> None:
    labels = load_label_set({"labels": ["a", "b", "c", "d"], "confusable": [["a", "b"]]})
    sets = LabelSetSampler(labels, k=3).exhaustive()
    assert len(sets) == 4 + 5 + 2  # singles, pairs without (a, b), triples without a and b together
    with pytest.raises(ConfigError, match="k=0"):
        LabelSetSampler(labels, k=0)
    seen_only = load_label_set({"labels": [{"name": "x", "split": "seen"}]})
    with pytest.raises(ConfigError, match="no unseen labels"):
        LabelSetSampler(seen_only)


class _RecordingRandom(random.Random):
    """A seeded Random that remembers every label it picks."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.picks: list[str] = []

    def choice(self, seq):  # type: ignore[no-untyped-def, override]
        pick = super().choice(seq)
        self.picks.append(pick)
        return pick


def test_independent_draw_gives_a_single_only_when_every_draw_repeats() -> None:
    pool = ["a", "b", "c", "d"]
    rng = _RecordingRandom(5)
    singles = 0
    for _ in range(4000):
        rng.picks.clear()
        chosen = draw_independent(rng, pool, 2)
        assert chosen == list(dict.fromkeys(rng.picks))  # drawn labels, duplicates dropped
        assert len(rng.picks) == (2 if rng.picks[0] != rng.picks[1] else 3)  # a short set: one more draw
        assert (len(chosen) == 1) == (len(set(rng.picks)) == 1)
        singles += len(chosen) == 1
    assert 0.04 < singles / 4000 < 0.09  # 1/4**2
    assert draw_independent(random.Random(0), ["a"], 2) == ["a"]
    assert len(draw_independent(random.Random(0), pool, 3)) in (2, 3)

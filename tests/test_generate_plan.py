"""Round planning of the generate stage (no models): prompt pool, budgets, determinism."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest
from tailorgen.context import derive_seed
from tailorgen.data.label_sampling import LabelSetSampler
from tailorgen.data.labels import LabelSet, load_label_set
from tailorgen.errors import TailorgenError
from tailorgen.synthetic.plan import DrawRule, PromptPool, RoundBudget, Tally, plan_round

LABELS = LabelSet.model_validate(
    {"labels": [{"name": "dog", "split": "seen"}, {"name": "cat"}, {"name": "cow"}, {"name": "bus"}]}
)


def _pool(tmp_path: Path, rows: list[dict]) -> PromptPool:
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return PromptPool.load(path, LABELS)


def test_pool_groups_accepted_prompts_by_label_set(tmp_path: Path) -> None:
    pool = _pool(
        tmp_path,
        [
            {"labels": ["cow", "cat"], "text": "a cow next to a cat", "accepted": True},
            {"labels": ["cat", "cow"], "text": "a cat beside a cow", "accepted": True},
            {"labels": ["cat"], "text": "a cat", "accepted": True},
            {"labels": ["cat"], "text": "a cat", "accepted": True},  # duplicate text
            {"labels": ["bus"], "text": "no bus here", "accepted": False},
        ],
    )
    assert pool.sets == {("cat",): ["a cat"], ("cat", "cow"): ["a cow next to a cat", "a cat beside a cow"]}
    assert pool.sets_with("cow") == [("cat", "cow")]
    assert pool.sets_with("bus") == []


def test_pool_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(TailorgenError, match="run the prompts stage first"):
        PromptPool.load(tmp_path / "missing.jsonl", LABELS)
    with pytest.raises(TailorgenError, match=r"prompts.jsonl:1: label\(s\) zebra"):
        _pool(tmp_path, [{"labels": ["zebra"], "text": "a zebra", "accepted": True}])
    with pytest.raises(TailorgenError, match="needs 'labels'"):
        _pool(tmp_path, [{"text": "a cat", "accepted": True}])


def _record(id: int, targets: list[str], accepted: bool) -> dict:
    return {"id": id, "targets": targets, "accepted": accepted}


def test_tally_caps_accepted_images_at_the_quota_in_plan_order() -> None:
    records = [
        _record(0, ["cat"], True),
        _record(1, ["cat", "cow"], True),  # cat reaches the quota of 2 here
        _record(2, ["cat", "cow"], True),  # surplus: cat is full, so cow does not get it either
        _record(3, ["cow"], False),
        _record(4, ["cow"], True),
        _record(5, ["cat"], True),  # surplus
    ]
    tally = Tally.of(records, quota=2)
    assert tally.accepted == {"cat": 2, "cow": 2}
    assert tally.surplus == {"cat": 2, "cow": 1}
    assert tally.surplus_ids == {2, 5}
    assert tally.attempts == {"cat": 4, "cow": 4}
    assert tally.passed("cow") == 3
    assert Tally.of([*records[:3], None, *records[3:]], quota=2).attempts == {"cat": 3, "cow": 2}


def test_budget_sizes_rounds_from_the_measured_rate() -> None:
    budget = RoundBudget(quota=10, max_attempts=100, expected_acceptance=0.5, min_acceptance=0.05)
    tally = Tally()
    assert budget.wanted("cat", tally) == 20  # 10 / 0.5 before any attempt
    tally.attempts.update({"cat": 20, "cow": 20, "bus": 95})
    tally.accepted.update({"cat": 3, "cow": 10, "bus": 0})
    tally.surplus.update({"cat": 1})
    assert budget.wanted("cat", tally) == 35  # 7 short; the filter passed 4 of 20 (surplus included)
    assert budget.wanted("cow", tally) == 0  # quota met
    assert budget.wanted("bus", tally) == 5  # rate 0 -> floor 5%: 200, capped by the budget left
    tally.attempts["bus"] = 100
    assert budget.wanted("bus", tally) == 0  # budget spent


def _plan(pool: PromptPool, tally: Tally, budget: RoundBudget, **kwargs):  # type: ignore[no-untyped-def]
    options = {"round_no": 0, "first_id": 0, "max_items": 1000, "seed": 0, "mode": "independent"} | kwargs
    seed = options.pop("seed")
    return plan_round(
        pool,
        pool_labels(pool),
        tally,
        budget,
        draw=DrawRule(options.pop("mode"), LABELS),
        seed_for=lambda *p: derive_seed(seed, *p),
        **options,
    )


def pool_labels(pool: PromptPool) -> list[str]:
    return [n for n in LABELS.unseen if n in pool.labels()]


EVERY_SET = [
    {"labels": labels, "text": f"a photo of {' and '.join(labels)}", "accepted": True}
    for labels in (["cat"], ["cow"], ["bus"], ["cat", "cow"], ["cat", "bus"], ["cow", "bus"])
]


def test_plan_round_is_deterministic_and_draws_only_short_labels(tmp_path: Path) -> None:
    pool = _pool(tmp_path, EVERY_SET)
    budget = RoundBudget(quota=2, max_attempts=20, expected_acceptance=0.5, min_acceptance=0.05)
    items = _plan(pool, Tally(), budget)
    assert items == _plan(pool, Tally(), budget)
    assert [it.seed for it in _plan(pool, Tally(), budget, seed=1)] != [it.seed for it in items]
    assert [it.id for it in items] == list(range(len(items)))
    assert all(it.prompt in pool.sets[it.targets] for it in items)
    assert len({it.seed for it in items}) == len(items)
    assert items[0].file_name == "images/000000.png"
    attempts = Counter(name for it in items for name in it.targets)
    assert attempts == {"cat": 4, "cow": 4, "bus": 4}  # each label leaves once it holds 2 / 0.5 attempts

    full = Tally()
    full.attempts.update({"cat": 3, "cow": 3, "bus": 3})
    full.accepted.update({"cat": 2, "cow": 1, "bus": 1})  # cat has its quota: it left the pool
    later = _plan(pool, full, budget, round_no=1, first_id=len(items))
    assert later
    assert all("cat" not in it.targets for it in later)
    assert [it.id for it in later] == list(range(len(items), len(items) + len(later)))
    assert {it.seed for it in later}.isdisjoint(it.seed for it in items)


def test_plan_round_keeps_to_the_attempt_budget_and_the_round_size(tmp_path: Path) -> None:
    pool = _pool(tmp_path, EVERY_SET)
    budget = RoundBudget(quota=100, max_attempts=7, expected_acceptance=0.5, min_acceptance=0.05)
    items = _plan(pool, Tally(), budget)
    assert Counter(name for it in items for name in it.targets) == {"cat": 7, "cow": 7, "bus": 7}
    assert len(_plan(pool, Tally(), budget, max_items=3)) == 3


def test_plan_round_skips_labels_whose_sets_all_hold_a_finished_label(tmp_path: Path) -> None:
    pool = _pool(
        tmp_path,
        [
            {"labels": ["cat", "cow"], "text": "a cat next to a cow", "accepted": True},
            {"labels": ["bus"], "text": "a bus in the rain", "accepted": True},
        ],
    )
    budget = RoundBudget(quota=2, max_attempts=20, expected_acceptance=1.0, min_acceptance=0.05)
    tally = Tally()
    tally.accepted.update({"cow": 2})
    items = _plan(pool, tally, budget)
    assert {it.targets for it in items} == {("bus",)}  # cat only has prompts together with cow


def _coco_round(mode: str, n: int, seed: int = 0) -> list[tuple[str, ...]]:
    """``n`` label sets of one generation round over COCO 48/17 with prompts for every allowed set."""
    coco = load_label_set("coco-48-17")
    pool = PromptPool({key: ["a prompt"] for key in LabelSetSampler(coco, k=2).exhaustive()})
    budget = RoundBudget(quota=10**6, max_attempts=10**7, expected_acceptance=0.5, min_acceptance=0.05)
    items = plan_round(
        pool,
        coco.unseen,
        Tally(),
        budget,
        draw=DrawRule(mode, coco),  # type: ignore[arg-type]
        round_no=0,
        first_id=0,
        max_items=n,
        seed_for=lambda *p: derive_seed(seed, *p),
    )
    return [it.targets for it in items]


def test_coco_label_set_mix_matches_the_reference_draw() -> None:
    """17 labels, k = 2: a single needs the second and the extra draw to repeat the first, 1/17**2."""
    coco = load_label_set("coco-48-17")
    sets = _coco_round("independent", 20_000)
    singles = sum(len(s) == 1 for s in sets) / len(sets)
    assert 0.0015 < singles < 0.006  # 1/289 = 0.35% (tailorgen's per-label mix gave 6-11%)
    assert not any(coco.are_confusable(a, b) for s in sets for a, b in itertools.combinations(s, 2))
    uses = Counter(name for s in sets for name in s)  # every label about equally often
    assert max(uses.values()) / min(uses.values()) < 1.15
    per_label = _coco_round("per-label", 5_000)
    assert 0.05 < sum(len(s) == 1 for s in per_label) / len(per_label) < 0.08  # the older mix, kept

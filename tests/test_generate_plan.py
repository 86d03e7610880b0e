"""Round planning of the generate stage (no models): prompt pool, budgets, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tailorgen.context import derive_seed
from tailorgen.errors import TailorgenError
from tailorgen.labels import LabelSet
from tailorgen.synthetic.plan import PromptPool, RoundBudget, Tally, plan_round

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


def test_budget_sizes_rounds_from_the_measured_rate() -> None:
    budget = RoundBudget(quota=10, max_attempts=50, expected_acceptance=0.5, min_acceptance=0.05)
    tally = Tally()
    assert budget.wanted("cat", tally) == 20  # 10 / 0.5 before any attempt
    tally.attempts.update({"cat": 20, "cow": 20, "bus": 45})
    tally.accepted.update({"cat": 4, "cow": 10, "bus": 0})
    assert budget.wanted("cat", tally) == 30  # 6 short at 20%: 30, within the 30 attempts left
    assert budget.wanted("cow", tally) == 0  # quota met
    assert budget.wanted("bus", tally) == 5  # rate 0 -> floor 5%: 200, capped by the budget left
    tally.attempts["bus"] = 50
    assert budget.wanted("bus", tally) == 0  # budget spent


def test_plan_round_is_deterministic_and_covers_short_labels(tmp_path: Path) -> None:
    pool = _pool(
        tmp_path,
        [
            {"labels": ["cat"], "text": "a cat on a mat", "accepted": True},
            {"labels": ["cat", "cow"], "text": "a cat next to a cow", "accepted": True},
            {"labels": ["cow"], "text": "a cow in a field", "accepted": True},
        ],
    )
    budget = RoundBudget(quota=2, max_attempts=20, expected_acceptance=1.0, min_acceptance=0.05)

    def plan(seed: int, round_no: int = 0, first_id: int = 0):  # type: ignore[no-untyped-def]
        return plan_round(
            pool,
            ["cat", "cow", "bus"],
            Tally(),
            budget,
            round_no=round_no,
            first_id=first_id,
            seed_for=lambda *p: derive_seed(seed, *p),
        )

    items = plan(0)
    assert items == plan(0)
    assert [it.id for it in items] == [0, 1, 2, 3]  # 2 for cat, 2 for cow, none for bus (no prompts)
    assert all("cat" in it.targets for it in items[:2])
    assert all("cow" in it.targets for it in items[2:])
    assert all(it.prompt in pool.sets[it.targets] for it in items)
    assert len({it.seed for it in items}) == 4
    assert items[0].file_name == "images/000000.png"
    assert [it.seed for it in plan(1)] != [it.seed for it in items]
    later = plan(0, round_no=1, first_id=4)
    assert [it.id for it in later] == [4, 5, 6, 7]
    assert {it.seed for it in later}.isdisjoint(it.seed for it in items)

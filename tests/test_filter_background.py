"""Background texts in the CLIP filter: they compete as non-targets and never become labels."""

from __future__ import annotations

import pytest
import torch
from tailorgen.data.labels import LabelSet
from tailorgen.synthetic.plan import Item
from tailorgen.synthetic.rounds import Drawer
from tailorgen.synthetic.rule import AcceptanceRule

LABELS = LabelSet.model_validate(
    {
        "labels": [
            {"name": "star", "parents": ["shape"]},
            {"name": "heart"},
            {"name": "ring"},
            {"name": "shape", "split": "seen"},  # a parent that is no score column
        ]
    }
)
BLANK = "a blank background"


class _Images:
    """Each "image" is its prompt; generate returns the prompts."""

    def generate(self, prompts: list[str], seeds: list[int]) -> list[str]:
        return list(prompts)


class _Clip:
    """Logits by hand: a drawn star scores high on star; an empty image scores a little higher on
    star than on the other labels, and highest on the blank-background text."""

    def __init__(self) -> None:
        self.columns: list[list[str]] = []

    def score(self, images: list[str], names: list[str]) -> torch.Tensor:
        self.columns.append(list(names))
        table = {
            "a star": {"star": 30.0, "heart": 20.0, "ring": 20.0, BLANK: 18.0},
            "nothing": {"star": 22.0, "heart": 19.0, "ring": 19.0, BLANK: 25.0},
        }
        return torch.tensor([[table[image][n] for n in names] for image in images])


def _draw(rule: AcceptanceRule) -> tuple[list[dict], _Clip]:
    clip = _Clip()
    drawer = Drawer(_Images(), clip, rule, LABELS, ["star", "heart", "ring"])
    items = [Item(0, 0, ("star",), "a star", 1), Item(1, 0, ("star",), "nothing", 2)]
    records, _ = drawer.draw(items)
    return records, clip


def test_without_background_an_empty_image_passes_the_strict_rule() -> None:
    records, clip = _draw(AcceptanceRule())
    assert clip.columns == [["star", "heart", "ring"]]
    assert [r["accepted"] for r in records] == [True, True]  # the method's weakness
    assert all("background_scores" not in r for r in records)


def test_background_rejects_the_empty_image_and_is_never_a_label() -> None:
    records, clip = _draw(AcceptanceRule(background=[BLANK, "star"]))  # a label name is not added twice
    assert clip.columns == [["star", "heart", "ring", BLANK]]
    assert [r["accepted"] for r in records] == [True, False]
    assert list(records[1]["scores"]) == ["star", "heart", "ring"]
    assert records[1]["background_scores"][BLANK] > records[1]["scores"]["star"]
    loose, _ = _draw(AcceptanceRule(rule="loose", top_k=3, extra_threshold=0.0, background=[BLANK]))
    assert all(BLANK not in r["labels"] for r in loose)
    assert "'a blank background'" in AcceptanceRule(background=[BLANK]).describe()
    assert "background" not in AcceptanceRule().describe()
    assert loose[0]["labels"][0] == "star"
    assert "shape" in loose[0]["labels"]  # ancestors stay, though they are not score columns


def test_background_is_validated() -> None:
    with pytest.raises(ValueError, match="background"):
        AcceptanceRule(background="a blank background")  # a list, not a string

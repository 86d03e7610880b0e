"""The acceptance rule of the CLIP filter as config options, applied to a batch of CLIP logits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from tailorgen.data.labels import LabelSet
    from torch import Tensor

__all__ = ["AcceptanceRule", "Judgement"]


@dataclass(frozen=True)
class Judgement:
    """Filter outcome for a batch: v per label, verdict per image, the labels each image carries."""

    v: Tensor
    accepted: list[bool]
    labels: list[list[str]]


class AcceptanceRule(BaseModel):
    """docs/method.md, step 4: ``strict`` (the paper's COCO rule) or ``loose`` (its NUS-WIDE rule)."""

    model_config = ConfigDict(extra="forbid")

    rule: Literal["strict", "loose"] = Field("strict", description="strict (COCO) or loose (NUS-WIDE).")
    threshold: float = Field(0.5, ge=0, le=1, description="strict: every target needs v above this.")
    top_k: int = Field(7, ge=1, description="loose: every target must rank in the top-k by v.")
    extra_threshold: float = Field(0.1, ge=0, le=1, description="loose: top-k non-targets above this join.")
    background: list[str] = Field(
        [],
        description=(
            "Texts scored as non-targets of every image, never labels (e.g. 'a blank background'): the "
            "grouping softmax only compares labels, so an image showing none of them can still pass."
        ),
    )

    @classmethod
    def of(cls, discriminator: Any) -> AcceptanceRule:
        """A discriminator's rule: its options when they are one (open-clip's are), else the defaults."""
        options = getattr(discriminator, "options", None)
        return options if isinstance(options, AcceptanceRule) else cls()

    def columns(self, names: list[str]) -> list[str]:
        """The score columns: the label names, then the background texts that are not labels."""
        return list(names) + [text for text in self.background if text not in names]

    def judge(
        self, u: Tensor, targets: Tensor, names: list[str], labels: LabelSet | None = None
    ) -> Judgement:
        """Grouping softmax of logits ``u`` (B, C) for columns ``names``, then this rule.

        Background columns (see :meth:`columns`) are never targets, so they only compete; the
        caller drops them from ``labels`` (the loose rule may rank them among its extra positives).
        """
        from tailorgen.synthetic.scoring import accept_loose, accept_strict, grouping_softmax

        v = grouping_softmax(u.float(), targets)
        if self.rule == "strict":
            accepted = accept_strict(v, targets, threshold=self.threshold).tolist()
            chosen = [[n for n, t in zip(names, row, strict=True) if t] for row in targets.tolist()]
            return Judgement(v, accepted, chosen)
        verdict = accept_loose(
            v, targets, top_k=self.top_k, extra_threshold=self.extra_threshold, parents=labels, names=names
        )
        assert verdict.labels is not None
        return Judgement(v, verdict.accepted.tolist(), verdict.labels)

    def describe(self) -> str:
        if self.rule == "strict":
            text = f"strict: the top-|Y| labels by grouping-softmax v are exactly the targets, each v > {self.threshold}"
        else:
            text = (
                f"loose: every target in the top-{self.top_k} by grouping-softmax v; top-{self.top_k} non-targets "
                f"with v > {self.extra_threshold} become extra labels, plus parent labels"
            )
        if self.background:
            text += "; background texts competing as non-targets: " + ", ".join(
                repr(t) for t in self.background
            )
        return text

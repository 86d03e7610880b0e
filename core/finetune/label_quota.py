"""The reference's shrinking L_TE label pool (its NUS-WIDE loop's ``syn_num``).

The reference's NUS-WIDE L_TE loop keeps the images the filter accepts and counts, per label, the
accepted images that carry it (loose-rule extras and parents included); a label whose count has
reached ``syn_num`` (20) leaves the draw pool at its next accepted image. :class:`LabelQuota`
replays that from each step's log record, so a resumed run and every process of a data-parallel
run hold the same pool.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["LabelQuota"]


class LabelQuota:
    """Labels retired from the draw pool after ``quota`` counted accepted images (None: never)."""

    def __init__(self, quota: int | None) -> None:
        self.quota = quota
        self.counts: Counter[str] = Counter()
        self.retired: set[str] = set()

    def observe(self, record: dict[str, Any]) -> None:
        """Count one optimizer step's record: ``credited`` holds one label list per draw, in draw order."""
        if self.quota is None:
            return
        for credited in record.get("credited", []):
            for label in credited:
                if self.counts[label] == self.quota:
                    self.retired.add(label)
                else:
                    self.counts[label] += 1

"""Does a text mention a label? Names, prompt names, synonyms and their singular/plural forms all count."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from tailorgen.data.labels import LabelSet
from tailorgen.prompting.inflection import noun_forms

__all__ = ["LabelMatcher", "label_pattern"]


def _phrase_pattern(phrase: str) -> str:
    """``"teddy bear"`` -> matches "teddy bear", "teddy-bear", "teddybears" (inflecting the last word)."""
    words = re.findall(r"[\w']+", phrase.lower())
    if not words:
        return ""
    *head, last = words
    tails = "|".join(re.escape(form) for form in sorted(noun_forms(last), key=len, reverse=True))
    return r"[\s-]*".join([*map(re.escape, head), f"(?:{tails})"])


@cache
def label_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive, word-bounded pattern for any of ``phrases``."""
    parts = [p for p in map(_phrase_pattern, phrases) if p]
    return re.compile(r"(?<![\w])(?:" + "|".join(parts) + r")(?![\w])", re.IGNORECASE)


class LabelMatcher:
    """Finds which labels of a label set a text mentions."""

    def __init__(self, labels: LabelSet) -> None:
        self._patterns = {
            label.name: label_pattern(
                (label.name, *((label.prompt_name,) if label.prompt_name else ()), *label.synonyms)
            )
            for label in labels.labels
        }

    def mentions(self, text: str, name: str) -> bool:
        return self._patterns[name].search(text) is not None

    def missing(self, text: str, names: Sequence[str]) -> list[str]:
        """The labels among ``names`` that ``text`` does not mention."""
        return [name for name in names if not self.mentions(text, name)]

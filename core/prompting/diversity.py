"""Lexical diversity of a prompt collection: distinct-n and mean length."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["distinct_n", "mean_words", "words"]

_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-case word tokens (punctuation dropped; "teddy-bear" is one word)."""
    return _WORD.findall(text.lower())


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique n-grams over all n-grams of the collection (Li et al. 2016); 0.0 when there are none."""
    total = 0
    unique: set[tuple[str, ...]] = set()
    for text in texts:
        tokens = words(text)
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        unique.update(grams)
    return len(unique) / total if total else 0.0


def mean_words(texts: Sequence[str]) -> float:
    return sum(len(words(t)) for t in texts) / len(texts) if texts else 0.0

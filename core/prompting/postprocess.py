"""Turn raw writer replies into clean candidate prompts, then validate each one.

LLM replies come with preambles ("Sure! Here are 10 ..."), numbering, bullets, quotes, word counts
and closing remarks; :func:`split_reply` keeps only the phrases. :class:`PromptValidator` then checks
every phrase (all labels present, length bounds, no duplicate of an earlier one) and says why it
rejected one.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tailorgen.data.labels import LabelSet
from tailorgen.prompting.diversity import words
from tailorgen.prompting.matching import LabelMatcher

__all__ = ["REASONS", "Candidate", "PromptValidator", "clean_line", "split_reply"]

#: every rejection reason a record can carry
REASONS = ("empty", "missing-label", "too-short", "too-long", "duplicate", "near-duplicate")

_PREAMBLE = re.compile(
    r"^((sure|certainly|of course|okay|ok|absolutely|great)\s*[!,.:]|(sure|certainly|of course)\b"
    r"|(here|below) (are|is)\b|i('d| would| will| can| have)\b|as requested\b|happy to\b)",
    re.IGNORECASE,
)
_REMARK = re.compile(
    r"^(i hope|hope (this|these)|note\b|please note|let me know|feel free|these (descriptions|phrases|scenes|prompts|"
    r"sentences)|each (description|phrase|prompt|scene)|all (descriptions|phrases|of these)|enjoy|in (each|all) of)",
    re.IGNORECASE,
)
_INLINE_ITEM = re.compile(r"(?:^|\s)\(?\d{1,2}[.)]\s+")
_BULLET = re.compile(r"^\s*(?:[-*•‣◦·–—>]+|\(?\d{1,3}[.):]|\d{1,3}\s*-|\(?[a-j][.)])\s+")
_ITEM_LABEL = re.compile(
    r"^(?:description|scene|phrase|prompt|option|caption)\s*#?\d*\s*[:.)-]\s*", re.IGNORECASE
)
_WORD_COUNT = re.compile(r"\s*[(\[]\s*\d+\s*words?\s*[)\]]\s*$", re.IGNORECASE)
_QUOTES = "\"'“”‘’«»`"


def clean_line(line: str) -> str:
    """Strip bullets, numbering, item labels, markdown emphasis, quotes and word counts."""
    # an LM's byte soup holds control characters (checked per character only then: it is slow)
    text = (line if line.isprintable() else "".join(ch for ch in line if ch.isprintable())).strip()
    for _ in range(2):  # "1. **Scene 1:** ..." needs two rounds
        text = _BULLET.sub("", text)
        text = text.replace("**", "").replace("__", "").strip()
        text = _ITEM_LABEL.sub("", text)
    text = _WORD_COUNT.sub("", text).strip()
    if len(text) >= 2 and text[0] in _QUOTES and text.rstrip(".")[-1:] in _QUOTES:
        text = text.rstrip(".").strip(_QUOTES).strip()
    text = text.strip(_QUOTES + " ")
    return re.sub(r"\s+", " ", text).rstrip(" ,;:.")


def split_reply(reply: str) -> list[str]:
    """Every candidate phrase in a raw reply, in order (preamble and closing remarks dropped)."""
    lines: list[str] = []
    for raw in reply.splitlines():
        # several numbered items on one line: "1. a cat ... 2. a dog ..."
        pieces = (
            [p for p in _INLINE_ITEM.split(raw) if p.strip()] if len(_INLINE_ITEM.findall(raw)) > 1 else [raw]
        )
        lines.extend(pieces)
    out = []
    for raw in lines:
        stripped = raw.strip()
        if not stripped or re.fullmatch(r"[-=*_#~\s]+", stripped):
            continue
        text = clean_line(stripped)
        if text and not (stripped.endswith(":") or _PREAMBLE.match(text) or _REMARK.match(text)):
            out.append(text)
    return out


@dataclass(frozen=True)
class Candidate:
    """One candidate prompt and the verdict on it."""

    text: str
    accepted: bool
    reason: str | None = None


@functools.lru_cache(maxsize=8192)
def _signature(text: str) -> tuple[str, frozenset[tuple[str, ...]]]:
    """Normalised words and the set of word pairs (cached: accepted texts are compared again and again)."""
    tokens = words(text)
    return " ".join(tokens), frozenset(itertools.pairwise(tokens)) or frozenset({tuple(tokens)})


class PromptValidator:
    """Checks candidates for one label set against everything accepted for it so far."""

    def __init__(
        self, labels: LabelSet, min_words: int = 10, max_words: int = 60, near_duplicate: float = 0.7
    ) -> None:
        self.labels = labels
        self.matcher = LabelMatcher(labels)
        self.min_words = min_words
        self.max_words = max_words
        self.near_duplicate = near_duplicate

    def verdict(self, text: str, labels: Sequence[str], accepted: Sequence[str]) -> str | None:
        """Why ``text`` is rejected, or None when it is a valid prompt for ``labels``."""
        tokens = words(text)
        if not tokens:
            return "empty"
        if self.matcher.missing(text, labels):
            return "missing-label"
        if len(tokens) < self.min_words:
            return "too-short"
        if len(tokens) > self.max_words:
            return "too-long"
        key, mine = _signature(text)
        others = [_signature(other) for other in accepted]
        if any(other_key == key for other_key, _ in others):
            return "duplicate"
        if any(len(mine & theirs) / len(mine | theirs) >= self.near_duplicate for _, theirs in others):
            return "near-duplicate"
        return None

    def check(
        self, texts: Sequence[str], labels: Sequence[str], accepted: Sequence[str] = ()
    ) -> list[Candidate]:
        """Verdicts for ``texts`` in order; each accepted one joins the set others are compared with."""
        kept = list(accepted)
        out = []
        for text in texts:
            reason = self.verdict(text, labels, kept)
            if reason is None:
                kept.append(text)
            out.append(Candidate(text, reason is None, reason))
        return out

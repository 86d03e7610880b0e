"""What a prompt writer is asked for: a label set, how many prompts, a seed and the attempt number."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PromptRequest"]


@dataclass(frozen=True)
class PromptRequest:
    """One label set to write prompts for.

    ``seed`` differs per attempt, so a re-ask gives new text; a writer must give the same texts for
    the same request (it may not depend on which other requests share its batch).
    """

    set_id: str
    labels: tuple[str, ...]
    count: int = 10
    seed: int = 0
    attempt: int = 0
    min_words: int = 10

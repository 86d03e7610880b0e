"""What a prompt writer is asked for: a label set, how many prompts, a seed and the attempt number."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PromptRequest"]


@dataclass(frozen=True)
class PromptRequest:
    """One label set to write prompts for.

    ``labels`` are the label names (they identify the set); ``prompt_names`` are the words to write
    for them, in the same order (a label's ``prompt_name``, e.g. "computer keyboard" for "keyboard";
    by default the names themselves). A prompt that uses either counts as naming the label.
    ``seed`` differs per attempt, so a re-ask gives new text; a writer must give the same texts for
    the same request (it may not depend on which other requests share its batch).
    """

    set_id: str
    labels: tuple[str, ...]
    count: int = 10
    seed: int = 0
    attempt: int = 0
    min_words: int = 10
    prompt_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.prompt_names:
            object.__setattr__(self, "prompt_names", tuple(self.labels))
        elif len(self.prompt_names) != len(self.labels):
            raise ValueError(f"prompt_names {self.prompt_names} do not match labels {self.labels}")

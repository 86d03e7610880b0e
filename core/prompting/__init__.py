"""Prompt writing: requests, the shared post-processor, diversity measures and the public API."""

from __future__ import annotations

from tailorgen.prompting.api import write_prompts
from tailorgen.prompting.diversity import distinct_n, mean_words
from tailorgen.prompting.postprocess import Candidate, PromptValidator, split_reply
from tailorgen.prompting.request import PromptRequest

__all__ = [
    "Candidate",
    "PromptRequest",
    "PromptValidator",
    "distinct_n",
    "mean_words",
    "split_reply",
    "write_prompts",
]

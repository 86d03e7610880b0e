"""Ask a writer for prompts, validate them, re-ask for sets left short, then fill from ``template``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tailorgen.errors import PluginError
from tailorgen.prompting.postprocess import PromptValidator, split_reply
from tailorgen.prompting.request import PromptRequest
from tailorgen.registry.roles import PromptWriter

__all__ = ["SetProgress", "collect_sets"]


@dataclass
class SetProgress:
    """The records written so far for one label set, and its accepted texts."""

    set_id: str
    labels: tuple[str, ...]
    records: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)


def _ask(
    writer: PromptWriter,
    writer_name: str,
    pending: Sequence[SetProgress],
    validator: PromptValidator,
    *,
    path: str,
    attempt: int,
    count: int,
    seed_for: Callable[..., int],
) -> None:
    requests = [
        PromptRequest(
            p.set_id,
            p.labels,
            count,
            seed_for(p.set_id, path, attempt),
            attempt,
            validator.min_words,
            validator.labels.prompt_names(p.labels),
        )
        for p in pending
    ]
    replies = writer.write(requests)
    if len(replies) != len(requests):
        raise PluginError(
            f"prompt writer {writer_name!r} returned {len(replies)} replies for {len(requests)} requests",
            "a PromptWriter.write must return one list of texts per request",
        )
    for state, request, reply in zip(pending, requests, replies, strict=True):
        texts = [t for raw in reply for t in split_reply(raw)]
        for candidate in validator.check(texts, state.labels, state.accepted):
            if len(state.accepted) >= count:
                break  # enough: the rest of the reply is not needed
            if candidate.accepted:
                state.accepted.append(candidate.text)
            state.records.append(
                {
                    "set_id": state.set_id,
                    "labels": list(state.labels),
                    "text": candidate.text,
                    "accepted": candidate.accepted,
                    "reason": candidate.reason,
                    "writer": writer_name,
                    "path": path,
                    "attempt": attempt,
                    "seed": request.seed,
                }
            )


def collect_sets(
    sets: Sequence[tuple[str, tuple[str, ...]]],
    writer: PromptWriter,
    writer_name: str,
    validator: PromptValidator,
    *,
    count: int,
    max_retries: int,
    seed_for: Callable[..., int],
    fill: PromptWriter | None = None,
) -> list[SetProgress]:
    """Records for each (set id, labels): ask, re-ask up to ``max_retries`` times, then fill."""
    states = [SetProgress(key, labels) for key, labels in sets]
    retry = getattr(writer, "can_retry", True)  # a fixed source (file) gives nothing new when re-asked
    for attempt in range(max_retries + 1 if retry else 1):
        pending = [s for s in states if len(s.accepted) < count]
        if not pending:
            break
        path = "ask" if attempt == 0 else "re-ask"
        _ask(
            writer,
            writer_name,
            pending,
            validator,
            path=path,
            attempt=attempt,
            count=count,
            seed_for=seed_for,
        )
    short = [s for s in states if len(s.accepted) < count]
    if fill is not None and short:
        _ask(fill, "template", short, validator, path="fill", attempt=0, count=count, seed_for=seed_for)
    return states

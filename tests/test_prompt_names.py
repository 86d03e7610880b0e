"""Prompt names: what a writer is given for a label ("computer keyboard" for COCO's "keyboard")."""

from __future__ import annotations

import pytest
from tailorgen.data.labels import load_label_set
from tailorgen.errors import ConfigError
from tailorgen.prompting import PromptRequest
from tailorgen.prompting.collect import collect_sets
from tailorgen.prompting.postprocess import PromptValidator
from tailorgen.registry import create_prompt_writer

LABELS = load_label_set(
    {
        "labels": [
            {"name": "keyboard", "prompt_name": "computer keyboard"},
            {"name": "tv", "prompt_name": "television"},
            {"name": "cat"},
        ]
    }
)


def test_coco_preset_uses_the_reference_prompt_names() -> None:
    coco = load_label_set("coco-48-17")
    assert coco.prompt_names(["keyboard", "snowboard", "cat"]) == (
        "computer keyboard",
        "snowboard equipment",
        "cat",
    )
    with pytest.raises(ConfigError, match="prompt_name"):
        load_label_set({"labels": [{"name": "cat", "prompt_name": ""}]})


class _Echo:
    """A writer that records its requests and answers with fixed texts per label set."""

    def __init__(self, replies: dict[tuple[str, ...], list[str]]) -> None:
        self.replies, self.requests = replies, []

    def write(self, requests: list[PromptRequest]) -> list[list[str]]:
        self.requests += requests
        return [self.replies[request.labels] for request in requests]


def test_writers_get_prompt_names_and_validation_takes_either_name() -> None:
    writer = _Echo(
        {
            ("keyboard", "tv"): [
                "a computer keyboard next to a television in a small dark office at night",
                "an old keyboard next to a tv on a wooden desk in the living room",
                "a television next to a cat on a wooden desk in the living room",
            ],
        }
    )
    states = collect_sets(
        [("keyboard+tv", ("keyboard", "tv"))],
        writer,
        "echo",
        PromptValidator(LABELS, min_words=5),
        count=3,
        max_retries=0,
        seed_for=lambda *parts: 0,
    )
    (request,) = writer.requests
    assert request.labels == ("keyboard", "tv")
    assert request.prompt_names == ("computer keyboard", "television")
    verdicts = [(record["accepted"], record["reason"]) for record in states[0].records]
    assert verdicts == [(True, None), (True, None), (False, "missing-label")]


def test_request_prompt_names_default_to_the_labels() -> None:
    assert PromptRequest("cat", ("cat",)).prompt_names == ("cat",)
    with pytest.raises(ValueError, match="do not match"):
        PromptRequest("cat", ("cat",), prompt_names=("a", "b"))


def test_chat_dialogs_and_template_write_the_prompt_names() -> None:
    from tailorgen.plugins.hf_chat import HFChatOptions
    from tailorgen.prompting.dialog import chat_messages, instruction_for

    request = PromptRequest("keyboard", ("keyboard",), 4, prompt_names=("computer keyboard",))
    assert "contains computer keyboard" in instruction_for(HFChatOptions(), request)
    painter = chat_messages(HFChatOptions(), request)
    assert (
        'Now, I give keywords "a computer keyboard", please generate 4 different phrases'
        in painter[-1]["content"]
    )
    texts = create_prompt_writer("template").write([request])[0]
    assert all("computer keyboard" in text for text in texts)

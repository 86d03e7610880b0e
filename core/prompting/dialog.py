"""The chat messages a chat-LM prompt writer sends for one label set (every such writer uses these).

Two dialogs, chosen with the writer's ``dialog`` option:

- ``painter`` (default): the reference code's three turns. The user casts the model as a painter,
  a scripted assistant turn asks for keywords, and the user gives them (``"a cat" and "a dog"``)
  with the number of phrases and the least number of words.
- ``instruction``: one user message from the ``instruction`` template (fields ``count``,
  ``labels``, ``label_list``, ``min_words``); two labels are joined with "next to".

``system_prompt``, when set, goes first in either dialog.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tailorgen.prompting.request import PromptRequest

__all__ = [
    "DEFAULT_INSTRUCTION",
    "INSTRUCTION_FIELDS",
    "PAINTER_ASSISTANT",
    "PAINTER_KEYWORDS",
    "PAINTER_NEXT_TO",
    "PAINTER_SETUP",
    "ChatDialogOptions",
    "DialogName",
    "chat_messages",
    "instruction_for",
]

DialogName = Literal["painter", "instruction"]

#: the reference's first user turn; label sets of two or more labels add PAINTER_NEXT_TO
PAINTER_SETUP = (
    "Please forget the previous keywords. Now, if you are a painter, I have a few key words for you. "
    "Please create a picture that contains both of the key words I have given. "
    "Can you describe the painting you will create in one phrase?"
)
PAINTER_NEXT_TO = ' Use "next to" between two keywords.'
#: the scripted assistant turn between the two user turns
PAINTER_ASSISTANT = "Please enter keywords."
#: the reference's last user turn; ``keywords`` is ``"a cat"`` or ``"a cat" and "a dog"``
PAINTER_KEYWORDS = (
    "Now, I give keywords {keywords}, please generate {count} different phrases that satisfies the "
    "condition. And each phrase should contain no less than {min_words} words."
)

#: a one-message rewording of the painter dialog; fields: count, labels, label_list, min_words
DEFAULT_INSTRUCTION = (
    "Write {count} different one-phrase descriptions of a scene that contains {labels}. "
    "Every description must mention {label_list}, be one phrase of at least {min_words} words, "
    "and describe a different scene. Write one description per line."
)
INSTRUCTION_FIELDS = frozenset({"count", "labels", "label_list", "min_words"})


def _and_list(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0]


class ChatDialogOptions(BaseModel):
    """Options every chat-LM writer shares: the dialog and the sampling (the paper's 0.6 / 0.9)."""

    model_config = ConfigDict(extra="forbid")

    dialog: DialogName = Field(
        "painter",
        description="'painter': the reference's three-turn dialog; 'instruction': one message from `instruction`.",
    )
    instruction: str = Field(
        DEFAULT_INSTRUCTION,
        description=f"User message template of the 'instruction' dialog; fields: {', '.join(sorted(INSTRUCTION_FIELDS))}.",
    )
    system_prompt: str | None = Field(None, description="Optional system message.")
    temperature: float = Field(0.6, gt=0, description="Sampling temperature (paper: 0.6).")
    top_p: float = Field(0.9, gt=0, le=1, description="Nucleus sampling top-p (paper: 0.9).")

    @field_validator("instruction")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(
                f"instruction is not a valid template: {exc} (write literal braces as {{{{ }}}})"
            ) from None
        unknown = used - INSTRUCTION_FIELDS
        if unknown:
            raise ValueError(
                f"instruction uses unknown field(s) {sorted(unknown)}; known: {sorted(INSTRUCTION_FIELDS)}"
            )
        return value


def instruction_for(options: ChatDialogOptions, request: PromptRequest) -> str:
    """The 'instruction' dialog's user message for one request (labels by their prompt names)."""
    labels = list(request.prompt_names)
    return options.instruction.format(
        count=request.count,
        labels=" next to ".join(labels),
        label_list=_and_list(labels),
        min_words=request.min_words,
    )


def _painter(request: PromptRequest) -> list[dict[str, str]]:
    setup = PAINTER_SETUP + (PAINTER_NEXT_TO if len(request.labels) > 1 else "")
    keywords = _and_list([f'"a {name}"' for name in request.prompt_names])
    ask = PAINTER_KEYWORDS.format(keywords=keywords, count=request.count, min_words=request.min_words)
    return [
        {"role": "user", "content": setup},
        {"role": "assistant", "content": PAINTER_ASSISTANT},
        {"role": "user", "content": ask},
    ]


def chat_messages(options: ChatDialogOptions, request: PromptRequest) -> list[dict[str, str]]:
    """The chat messages (OpenAI/transformers ``{"role", "content"}`` dicts) for one request."""
    if options.dialog == "painter":
        messages = _painter(request)
    else:
        messages = [{"role": "user", "content": instruction_for(options, request)}]
    if options.system_prompt:
        messages.insert(0, {"role": "system", "content": options.system_prompt})
    return messages

"""``file`` prompt writer: prompts a person wrote, read from a JSONL file or a folder of text files.

JSONL: one object a line, ``{"labels": ["cat", "dog"], "text": "..."}`` or with ``"prompts": [...]``.
Folder: one ``<label>+<label>.txt`` per label set (labels in any order), one prompt a line.
Either way they go through the same validation as LLM replies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.errors import ConfigError
from tailorgen.prompting.request import PromptRequest
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import PromptWriter

__all__ = ["FileOptions", "FileWriter", "read_prompt_source"]

Key = frozenset[str]


class FileOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path = Field(description="A .jsonl file, or a folder with one '<label>+<label>.txt' per label set.")


def _from_jsonl(path: Path) -> dict[Key, list[str]]:
    out: dict[Key, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            labels, texts = item["labels"], item.get("prompts", [item.get("text")])
            if isinstance(labels, str) or not all(isinstance(t, str) for t in texts):
                raise TypeError("labels must be a list and text/prompts strings")
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"{path}:{number}: not a prompt record ({type(exc).__name__}: {exc})",
                'write {"labels": ["cat", "dog"], "text": "..."} per line',
            ) from None
        out.setdefault(frozenset(labels), []).extend(texts)
    return out


def _from_folder(path: Path) -> dict[Key, list[str]]:
    return {
        frozenset(part.strip() for part in file.stem.split("+")): file.read_text(
            encoding="utf-8"
        ).splitlines()
        for file in sorted(path.glob("*.txt"))
    }


def read_prompt_source(path: Path) -> dict[Key, list[str]]:
    """Texts by label set (as a frozenset of names) from a JSONL file or a folder of text files."""
    if path.is_dir():
        return _from_folder(path)
    if path.is_file():
        return _from_jsonl(path)
    raise ConfigError(
        f"prompt file {path} not found", "set prompt_writer.options.path to a .jsonl file or a folder"
    )


class FileWriter(PromptWriter):
    """Reads prompts a user wrote (JSONL, or one text file per label set)."""

    name: ClassVar[str] = "file"
    description: ClassVar[str] = "Prompts from a JSONL file or one text file per label set."
    Options: ClassVar[type[BaseModel]] = FileOptions
    #: the file gives the same texts when asked again, so the stage does not re-ask
    can_retry: ClassVar[bool] = False
    options: FileOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._texts: dict[Key, list[str]] | None = None

    def write(self, requests: list[PromptRequest]) -> list[list[str]]:
        if self._texts is None:
            self._texts = read_prompt_source(self.options.path)
        return [list(self._texts.get(frozenset(r.labels), [])) for r in requests]


@hookimpl
def register_prompt_writers(register):  # type: ignore[no-untyped-def]
    register(FileWriter)

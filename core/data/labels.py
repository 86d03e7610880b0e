"""Label sets: names, the seen/unseen split, synonyms, confusable pairs and parent labels."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from tailorgen.errors import ConfigError
from tailorgen.suggest import did_you_mean

__all__ = ["Label", "LabelSet", "list_presets", "load_label_set"]

Split = Literal["seen", "unseen", "unused"]


class Label(BaseModel):
    """One label: its name, split, words that also count as it, its parent labels, and the words a
    prompt writer is given for it (``prompt_name``, e.g. "computer keyboard" for "keyboard")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    split: Split = "unseen"
    synonyms: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    prompt_name: str | None = Field(None, min_length=1)


class LabelSet(BaseModel):
    """An ordered list of labels; index order is the column order of every score matrix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    labels: tuple[Label, ...]
    confusable: tuple[tuple[str, str], ...] = ()
    source: str = ""
    #: ids of the labels in the data set they come from (e.g. COCO category ids)
    external_ids: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> LabelSet:
        names = [label.name.strip() for label in self.labels]
        if not names:
            raise ValueError("a label set needs at least one label")
        if any(not n for n in names):
            raise ValueError("label names must not be empty")
        seen: set[str] = set()
        dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
        if dupes:
            raise ValueError(f"duplicate label names: {', '.join(dupes)}")
        known = set(names)
        for a, b in self.confusable:
            missing = [x for x in (a, b) if x not in known]
            if missing:
                raise ValueError(f"confusable pair ({a}, {b}) names unknown label(s): {', '.join(missing)}")
        for label in self.labels:
            missing = [p for p in label.parents if p not in known]
            if missing:
                raise ValueError(f"label {label.name!r} has unknown parent label(s): {', '.join(missing)}")
        return self

    @property
    def names(self) -> list[str]:
        return [label.name for label in self.labels]

    @property
    def seen(self) -> list[str]:
        return [label.name for label in self.labels if label.split == "seen"]

    @property
    def unseen(self) -> list[str]:
        return [label.name for label in self.labels if label.split == "unseen"]

    @property
    def used(self) -> list[str]:
        """Seen then unseen... in index order: every label that is not ``unused`` (the GZSL set)."""
        return [label.name for label in self.labels if label.split != "unused"]

    def indices(self, names: Iterable[str]) -> list[int]:
        position = {n: i for i, n in enumerate(self.names)}
        return [position[n] for n in names]

    def label(self, name: str) -> Label:
        for label in self.labels:
            if label.name == name:
                return label
        raise KeyError(name)

    def prompt_names(self, names: Iterable[str]) -> tuple[str, ...]:
        """What a prompt writer writes for each of ``names``: its ``prompt_name``, else the name."""
        by_name = {label.name: label.prompt_name or label.name for label in self.labels}
        return tuple(by_name[name] for name in names)

    def are_confusable(self, a: str, b: str) -> bool:
        return (a, b) in self.confusable or (b, a) in self.confusable

    def ancestors(self, name: str) -> list[str]:
        """Parents, grandparents, ... of a label (each once, nearest first)."""
        out: list[str] = []
        stack = list(self.label(name).parents)
        while stack:
            parent = stack.pop(0)
            if parent not in out and parent != name:
                out.append(parent)
                stack.extend(self.label(parent).parents)
        return out


def list_presets() -> list[str]:
    return sorted(
        p.name[:-5] for p in resources.files("tailorgen.data.presets").iterdir() if p.name.endswith(".json")
    )


def _from_mapping(data: dict[str, Any], origin: str) -> LabelSet:
    data = dict(data)
    if "categories" in data and "labels" not in data:  # the shared COCO split file's layout
        data["labels"] = data.pop("categories")
    labels = []
    for item in data.get("labels", []):
        if isinstance(item, str):
            labels.append({"name": item})
        else:
            labels.append({k: v for k, v in item.items() if k not in {"index", "coco_id"}})
    data["labels"] = labels
    try:
        return LabelSet.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'label set'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(
            f"invalid label set {origin}: {problems}", 'see docs/configuration.md, "Label sets"'
        ) from None


def _parse_txt(text: str) -> dict[str, Any]:
    """One label a line: ``name [split] = synonym, synonym``; ``#`` starts a comment."""
    labels = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, _, syn = line.partition("=")
        head = head.strip()
        split = "unseen"
        if head.endswith("]") and "[" in head:
            head, _, tag = head[:-1].rpartition("[")
            split = tag.strip()
        labels.append(
            {
                "name": head.strip(),
                "split": split,
                "synonyms": [s.strip() for s in syn.split(",") if s.strip()],
            }
        )
    return {"labels": labels}


def load_label_set(spec: str | Path | dict[str, Any] | LabelSet) -> LabelSet:
    """Load a label set from a preset name, a JSON/TOML/TXT file, or an inline mapping."""
    if isinstance(spec, LabelSet):
        return spec
    if isinstance(spec, dict):
        return _from_mapping(spec, "in config")
    text_spec = str(spec)
    if text_spec in list_presets():
        raw = resources.files("tailorgen.data.presets").joinpath(f"{text_spec}.json").read_text()
        return _from_mapping(json.loads(raw), f"preset {text_spec!r}")
    path = Path(text_spec)
    if not path.is_file():
        raise ConfigError(
            f"label set {text_spec!r} is neither a preset nor a file{did_you_mean(text_spec, list_presets())}",
            f"presets: {', '.join(list_presets())}; files: .json, .toml or .txt",
        )
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text())
        elif path.suffix == ".toml":
            data = tomllib.loads(path.read_text())
        elif path.suffix == ".txt":
            data = _parse_txt(path.read_text())
        else:
            raise ConfigError(
                f"label file {path}: unknown format {path.suffix!r}", "use .json, .toml or .txt"
            )
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"label file {path} is not valid {path.suffix[1:]}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"label file {path}: expected an object with a 'labels' list")
    data.setdefault("name", path.stem)
    return _from_mapping(data, str(path))

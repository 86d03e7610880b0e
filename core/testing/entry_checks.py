"""Checks of one registered entry: its description and its options model."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from tailorgen.errors import PluginError
from tailorgen.registry import PluginEntry, validate_options
from tailorgen.testing.checks import ConformanceError, expect

__all__ = ["check_entry", "check_options"]

_UNKNOWN_KEY = "__conformance_unknown_option__"


def check_options(entry: PluginEntry, options: Mapping[str, Any] | None = None) -> BaseModel:
    """Options model: documented, validates ``options``, round-trips through JSON, rejects unknown keys."""
    label = f"{entry.role} {entry.name!r}"
    model = entry.cls.Options
    expect(
        isinstance(model, type) and issubclass(model, BaseModel), f"{label}: Options must be a pydantic model"
    )
    undocumented = [k for k, f in model.model_fields.items() if not f.description]
    expect(not undocumented, f"{label}: options without a Field(description=...): {', '.join(undocumented)}")
    try:
        model.model_json_schema()
    except Exception as exc:
        raise ConformanceError(f"{label}: Options has no JSON schema ({exc})") from exc
    try:
        validated = validate_options(entry, dict(options or {}))
    except PluginError as exc:
        raise ConformanceError(
            f"{label}: options {dict(options or {})} do not validate: {exc.message}"
        ) from exc
    dumped = json.loads(json.dumps(validated.model_dump(mode="json")))
    try:
        again = model.model_validate(dumped)
    except ValidationError as exc:
        raise ConformanceError(
            f"{label}: options do not survive a JSON round trip (config files): {exc}"
        ) from exc
    expect(again == validated, f"{label}: options change in a JSON round trip: {dumped}")
    try:
        validate_options(entry, {**dict(options or {}), _UNKNOWN_KEY: 1})
    except PluginError as exc:
        expect(_UNKNOWN_KEY in exc.message, f"{label}: the unknown-option error does not name the key")
    else:
        raise ConformanceError(
            f"{label}: unknown option keys are accepted; set model_config = ConfigDict(extra='forbid')"
        )
    return validated


def check_entry(entry: PluginEntry, options: Mapping[str, Any] | None = None) -> Any:
    """Name, description and options of one entry; returns an instance built as ``create_*`` builds it."""
    label = f"{entry.role} {entry.name!r}"
    expect(entry.description.strip(), f"{label}: give it a description (ClassVar or docstring)")
    expect("\n" not in entry.description.strip(), f"{label}: the description must be one line")
    validated = check_options(entry, options)
    instance = entry.cls(validated)
    expect(instance.options == validated, f"{label}: __init__ must keep the options as self.options")
    return instance

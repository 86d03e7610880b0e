"""The plugin conformance kit: contract checks a plugin author runs against their own plugin module.

>>> from tailorgen.testing.conformance import check_plugin
>>> check_plugin(my_plugin, demo_models, tmp_path, options={"my-writer": {"shout": True}})

Each check raises :class:`ConformanceError` (an ``AssertionError``, so pytest reports it as a test
failure) with a message naming the entry and what the contract asks for.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError
from tailorgen.errors import PluginError
from tailorgen.registry import ENTRY_POINT_GROUP, PluginEntry, Registry, validate_options
from tailorgen.testing.checks import ConformanceError, expect
from tailorgen.testing.role_checks import ROLE_CHECKS, CheckInputs

__all__ = [
    "HEAVY_MODULES",
    "CheckInputs",
    "ConformanceError",
    "check_entry",
    "check_lazy_imports",
    "check_options",
    "check_outputs",
    "check_plugin",
    "check_registration",
    "isolated_registry",
]

#: what a plugin module must not import at import time (``tailorgen plugins`` must stay fast)
HEAVY_MODULES = ("torch", "diffusers", "transformers", "open_clip", "onnx", "onnxruntime", "tensorrt")
_UNKNOWN_KEY = "__conformance_unknown_option__"


@contextlib.contextmanager
def _only_extra_plugins() -> Iterator[None]:
    """Hide every installed entry point (built-ins included) so a registry holds only ``extra_plugins``."""
    names = ",".join(sorted({ep.name for ep in md.entry_points(group=ENTRY_POINT_GROUP)}))
    saved = {k: os.environ.get(k) for k in ("TAILORGEN_LOAD_PLUGINS", "TAILORGEN_DISABLE_PLUGINS")}
    os.environ["TAILORGEN_LOAD_PLUGINS"] = ""
    os.environ["TAILORGEN_DISABLE_PLUGINS"] = names
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def isolated_registry(module: ModuleType) -> Registry:
    """A registry holding only what ``module``'s hooks register (nothing installed interferes)."""
    with _only_extra_plugins():
        return Registry(extra_plugins=[module])


def _installed_as(module: ModuleType) -> set[str]:
    """Entry-point names under which ``module`` is installed (empty if it is not)."""
    return {ep.name for ep in md.entry_points(group=ENTRY_POINT_GROUP) if ep.value == module.__name__}


def check_registration(module: ModuleType) -> list[PluginEntry]:
    """The module's hooks register at least one valid entry, alone and next to every installed plugin."""
    alone = isolated_registry(module)
    problems = [e.error for e in alone.errors]
    expect(not problems, f"plugin module {module.__name__} failed to register: {'; '.join(problems)}")
    entries = [e for role in alone.entries.values() for e in role.values()]
    expect(entries, f"plugin module {module.__name__} registers nothing (no @hookimpl register_* hook ran)")
    sources = _installed_as(module)
    full = Registry() if sources else Registry(extra_plugins=[module])
    sources = sources or {module.__name__}
    mine = [e.error for e in full.errors if e.source.plugin in sources]
    expect(
        not mine, f"plugin module {module.__name__} failed next to the installed plugins: {'; '.join(mine)}"
    )
    for (role, name), providers in full.duplicates.items():
        if sources & {p.plugin for p in providers}:
            who = " and ".join(f"{p.plugin!r} ({p.distribution})" for p in providers)
            raise ConformanceError(f"{role} name {name!r} is registered by both {who}: rename yours")
    return sorted(entries, key=lambda e: (e.role, e.name))


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
    expect(instance.options is validated, f"{label}: __init__ must keep the options as self.options")
    return instance


def check_lazy_imports(module_name: str, heavy: Iterable[str] = HEAVY_MODULES) -> None:
    """Importing the module (in a fresh interpreter) must not import torch, diffusers, ..."""
    code = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
        "print(json.dumps(sorted(m for m in sys.argv[2:] if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, module_name, *heavy], capture_output=True, text=True, check=False
    )
    expect(done.returncode == 0, f"importing {module_name} failed: {done.stderr.strip()[-500:]}")
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    expect(
        not loaded,
        f"importing {module_name} imports {', '.join(loaded)}: move heavy imports into functions or methods",
    )


def check_outputs(entry: PluginEntry, instance: Any, inputs: CheckInputs) -> None:
    """The role-specific output contract on the tiny models (see :mod:`tailorgen.testing.role_checks`)."""
    ROLE_CHECKS[entry.role](instance, inputs)


def check_plugin(
    module: ModuleType,
    demo_models: Mapping[str, Path],
    work_dir: str | Path,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    registration_only: Iterable[str] = (),
    lazy_imports: bool = True,
) -> list[str]:
    """Every check for every entry ``module`` registers; returns a line per entry that passed.

    ``options`` maps an entry name to the options to test it with (e.g. the tiny model's path);
    names in ``registration_only`` skip the output checks (e.g. an exporter that needs a GPU).
    """
    if lazy_imports:
        check_lazy_imports(module.__name__)
    inputs = CheckInputs(dict(demo_models), Path(work_dir))
    passed = []
    for entry in check_registration(module):
        instance = check_entry(entry, (options or {}).get(entry.name))
        if entry.name not in set(registration_only):
            check_outputs(entry, instance, inputs)
        passed.append(f"{entry.role} {entry.name!r}: ok")
    return passed

"""Checks that a plugin module registers cleanly and imports lightly."""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from types import ModuleType

from tailorgen.registry import ENTRY_POINT_GROUP, PluginEntry, Registry
from tailorgen.testing.checks import ConformanceError, expect

__all__ = ["HEAVY_MODULES", "check_lazy_imports", "check_registration", "isolated_registry"]

#: what a plugin module must not import at import time (``tailorgen plugins`` must stay fast)
HEAVY_MODULES = ("torch", "diffusers", "transformers", "open_clip", "onnx", "onnxruntime", "tensorrt")


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
    """The module's hooks register at least one valid entry or command, alone and next to every
    installed plugin (no name clashes); returns the entries."""
    from tailorgen.cli import COMMANDS

    alone = isolated_registry(module)
    commands = alone.commands(reserved=COMMANDS)  # register_commands runs too: its failures count
    problems = [e.error for e in alone.errors]
    expect(not problems, f"plugin module {module.__name__} failed to register: {'; '.join(problems)}")
    entries = [e for role in alone.entries.values() for e in role.values()]
    expect(
        entries or commands,
        f"plugin module {module.__name__} registers nothing (no @hookimpl register_* hook ran)",
    )
    sources = _installed_as(module)
    full = Registry() if sources else Registry(extra_plugins=[module])
    full.commands(reserved=COMMANDS)  # a command name another installed plugin has is a failure here
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

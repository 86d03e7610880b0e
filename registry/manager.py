"""Plugin discovery: entry points in group ``tailorgen``, loaded one at a time into one pluggy manager."""

from __future__ import annotations

import importlib.metadata as md
import os
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy
from tailorgen.errors import PluginError
from tailorgen.registry import hookspecs
from tailorgen.registry.roles import ROLE_BASES, PluginBase

__all__ = ["ENTRY_POINT_GROUP", "LoadError", "PluginEntry", "PluginSource", "discover"]

ENTRY_POINT_GROUP = "tailorgen"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin module came from: its entry-point name and distribution."""

    plugin: str
    distribution: str | None = None
    version: str | None = None

    @property
    def builtin(self) -> bool:
        return self.distribution == "tailorgen"


@dataclass(frozen=True)
class PluginEntry:
    """One registered implementation of a role."""

    role: str
    name: str
    cls: type[PluginBase]
    source: PluginSource

    @property
    def description(self) -> str:
        doc = (self.cls.__doc__ or "").strip().splitlines()
        return self.cls.description or (doc[0] if doc else "")


@dataclass(frozen=True)
class LoadError:
    """A plugin that could not be loaded, or an entry it registered that was rejected."""

    source: PluginSource
    error: str


@dataclass
class Discovery:
    entries: dict[str, dict[str, PluginEntry]] = field(default_factory=dict)
    duplicates: dict[tuple[str, str], list[PluginSource]] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)
    sources: list[PluginSource] = field(default_factory=list)
    #: the loaded plugins' hooks, kept for hooks run on demand (``register_commands``)
    plugin_manager: pluggy.PluginManager | None = None
    by_plugin: dict[str, PluginSource] = field(default_factory=dict)


def _env_set(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _wanted(source: PluginSource, allow: set[str] | None, block: set[str]) -> bool:
    names = {source.plugin, source.distribution or ""}
    if names & block:
        return False
    return source.builtin or allow is None or bool(names & allow)


def _register_module(pm: pluggy.PluginManager, module: Any, source: PluginSource, found: Discovery) -> None:
    try:
        pm.register(module, name=source.plugin)
        pm.check_pending()  # rejects misspelled hook names
    except Exception as exc:
        if pm.is_registered(module):
            pm.unregister(module)
        found.errors.append(LoadError(source, f"{type(exc).__name__}: {exc}"))
        return
    found.sources.append(source)


def _validate(role: str, cls: Any) -> str | None:
    base = ROLE_BASES[role]
    if not (isinstance(cls, type) and issubclass(cls, base)):
        return f"{cls!r} is not a subclass of tailorgen.registry.roles.{base.__name__}"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        return f"{cls.__name__}.name must be a lower-case name like 'my-plugin', got {name!r}"
    if getattr(cls, "__abstractmethods__", None):
        return f"{cls.__name__} does not implement {sorted(cls.__abstractmethods__)}"
    return None


def _collect(pm: pluggy.PluginManager, found: Discovery, by_plugin: dict[str, PluginSource]) -> None:
    for role, hook_name in hookspecs.ROLE_HOOKS.items():
        found.entries.setdefault(role, {})
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            source = by_plugin[impl.plugin_name]

            def register(cls: Any, role: str = role, source: PluginSource = source) -> None:
                problem = _validate(role, cls)
                if problem:
                    raise PluginError(f"invalid {role} entry: {problem}")
                table = found.entries[role]
                if cls.name in table:
                    first = table[cls.name].source
                    found.duplicates.setdefault((role, cls.name), [first]).append(source)
                    raise PluginError(
                        f"duplicate {role} name {cls.name!r}: registered by both "
                        f"{first.plugin!r} ({first.distribution}) and {source.plugin!r} ({source.distribution})"
                    )
                table[cls.name] = PluginEntry(role, cls.name, cls, source)

            try:
                impl.function(register=register)
            except Exception as exc:
                found.errors.append(LoadError(source, f"{type(exc).__name__}: {exc}"))


def discover(extra_plugins: list[ModuleType | Any] | None = None) -> Discovery:
    """Load every wanted entry point (and ``extra_plugins``), then collect what each registers."""
    found = Discovery()
    pm = pluggy.PluginManager("tailorgen")
    pm.add_hookspecs(hookspecs)
    allow = _env_set("TAILORGEN_LOAD_PLUGINS")
    block = _env_set("TAILORGEN_DISABLE_PLUGINS") or set()
    by_plugin: dict[str, PluginSource] = {}
    for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.dist is None, e.name)):
        dist = ep.dist
        source = PluginSource(ep.name, dist.name if dist else None, dist.version if dist else None)
        if not _wanted(source, allow, block) or ep.name in by_plugin:
            continue
        by_plugin[ep.name] = source
        try:
            module = ep.load()
        except Exception as exc:
            found.errors.append(LoadError(source, f"{type(exc).__name__}: {exc}"))
            continue
        _register_module(pm, module, source, found)
    for module in extra_plugins or []:
        name = getattr(module, "__name__", repr(module))
        source = PluginSource(name)
        by_plugin[name] = source
        _register_module(pm, module, source, found)
    _collect(pm, found, by_plugin)
    found.plugin_manager, found.by_plugin = pm, by_plugin
    return found

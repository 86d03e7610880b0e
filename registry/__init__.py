"""Plugin registry: ``list_*``/``create_*`` per role, backed by pluggy and entry points.

>>> from tailorgen.registry import list_generators, create_generator
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError
from tailorgen.errors import PluginError
from tailorgen.registry.commands import PluginCommand
from tailorgen.registry.hookspecs import ROLE_HOOKS, hookimpl
from tailorgen.registry.manager import ENTRY_POINT_GROUP, LoadError, PluginEntry, PluginSource
from tailorgen.registry.roles import ROLE_BASES, PluginBase
from tailorgen.suggest import did_you_mean

__all__ = [
    "ENTRY_POINT_GROUP",
    "ROLES",
    "LoadError",
    "PluginCommand",
    "PluginEntry",
    "PluginSource",
    "Registry",
    "create",
    "create_dataset",
    "create_discriminator",
    "create_exporter",
    "create_fusion_head",
    "create_generator",
    "create_prompt_writer",
    "format_validation_error",
    "get_entry",
    "get_registry",
    "hookimpl",
    "list_datasets",
    "list_discriminators",
    "list_entries",
    "list_exporters",
    "list_fusion_heads",
    "list_generators",
    "list_prompt_writers",
    "reset_registry",
    "validate_options",
]

ROLES: tuple[str, ...] = tuple(ROLE_HOOKS)


def format_validation_error(exc: ValidationError, prefix: str = "", allowed: Iterable[str] = ()) -> str:
    """One line per problem: ``key: message`` (the key dotted, ``prefix`` in front); an unknown
    top-level key gets the closest of ``allowed`` as a suggestion."""
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        unknown_key = err["type"] == "extra_forbidden" and len(err["loc"]) == 1
        suggestion = did_you_mean(str(err["loc"][0]), allowed) if unknown_key else ""
        parts.append(f"{key or '<root>'}: {err['msg']}{suggestion}")
    return "; ".join(parts)


class Registry:
    """The entries every loaded plugin registered, by role and name."""

    def __init__(self, extra_plugins: list[ModuleType | Any] | None = None) -> None:
        from tailorgen.registry.manager import discover

        found = discover(extra_plugins)
        self.entries = found.entries
        self.duplicates = found.duplicates
        self.errors: list[LoadError] = found.errors
        self.sources: list[PluginSource] = found.sources
        self._plugin_manager, self._by_plugin = found.plugin_manager, found.by_plugin
        self._commands: dict[str, PluginCommand] | None = None

    def commands(self, reserved: Iterable[str] = ()) -> dict[str, PluginCommand]:
        """CLI commands the plugins add (``register_commands``), run once; ``reserved``: built-in names.

        A hook that fails or a name clash is recorded in :attr:`errors` like any load error.
        """
        if self._commands is None:
            from tailorgen.registry.commands import collect_commands

            self._commands, errors = collect_commands(self._plugin_manager, self._by_plugin, reserved)
            self.errors.extend(errors)
        return self._commands

    def check_strict(self) -> None:
        """Raise if any plugin failed while ``TAILORGEN_STRICT_PLUGINS=1`` is set."""
        if os.environ.get("TAILORGEN_STRICT_PLUGINS", "").lower() in {"1", "true", "yes"} and self.errors:
            first = self.errors[0]
            raise PluginError(
                f"plugin {first.source.plugin!r} ({first.source.distribution}) failed: {first.error}"
                + (f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""),
                "fix or uninstall it, or unset TAILORGEN_STRICT_PLUGINS to skip broken plugins",
            )

    def list(self, role: str) -> list[PluginEntry]:
        _check_role(role)
        return sorted(self.entries.get(role, {}).values(), key=lambda e: e.name)

    def get(self, role: str, name: str) -> PluginEntry:
        _check_role(role)
        if (role, name) in self.duplicates:
            who = " and ".join(f"{s.plugin!r} ({s.distribution})" for s in self.duplicates[(role, name)])
            raise PluginError(f"{role} name {name!r} is registered by both {who}", "uninstall one of them")
        table = self.entries.get(role, {})
        if name not in table:
            available = ", ".join(sorted(table)) or "none"
            broken = "".join(f"; plugin {e.source.plugin!r} failed to load: {e.error}" for e in self.errors)
            raise PluginError(
                f"unknown {role} {name!r}; available: {available}{did_you_mean(name, table)}{broken}",
                "check the spelling or install a plugin that provides it (`tailorgen plugins`)",
            )
        return table[name]

    def create(self, role: str, name: str, options: dict[str, Any] | BaseModel | None = None) -> Any:
        entry = self.get(role, name)
        return entry.cls(validate_options(entry, options))


def _check_role(role: str) -> None:
    if role not in ROLE_BASES:
        raise PluginError(f"unknown role {role!r}{did_you_mean(role, ROLES)}; roles are: {', '.join(ROLES)}")


def validate_options(entry: PluginEntry, options: dict[str, Any] | BaseModel | None) -> BaseModel:
    """Validate ``options`` with the entry's options model; errors list the allowed keys."""
    if isinstance(options, entry.cls.Options):
        return options
    data = options.model_dump() if isinstance(options, BaseModel) else dict(options or {})
    try:
        return entry.cls.Options.model_validate(data)
    except ValidationError as exc:
        fields = list(entry.cls.Options.model_fields)
        raise PluginError(
            f"invalid options for {entry.role} {entry.name!r}: {format_validation_error(exc, allowed=fields)}",
            f"allowed options: {', '.join(fields) or 'none'}",
        ) from None


@functools.cache
def get_registry() -> Registry:
    """The process-wide registry (loaded on first use)."""
    return Registry()


def reset_registry() -> None:
    """Forget the loaded registry so the next call rediscovers plugins (tests, env changes)."""
    get_registry.cache_clear()


def list_entries(role: str) -> list[PluginEntry]:
    return get_registry().list(role)


def get_entry(role: str, name: str) -> PluginEntry:
    return get_registry().get(role, name)


def create(role: str, name: str, options: dict[str, Any] | BaseModel | None = None) -> PluginBase:
    return get_registry().create(role, name, options)


def list_prompt_writers() -> list[PluginEntry]:
    return list_entries("prompt_writer")


def list_generators() -> list[PluginEntry]:
    return list_entries("generator")


def list_discriminators() -> list[PluginEntry]:
    return list_entries("discriminator")


def list_fusion_heads() -> list[PluginEntry]:
    return list_entries("fusion_head")


def list_datasets() -> list[PluginEntry]:
    return list_entries("dataset")


def list_exporters() -> list[PluginEntry]:
    return list_entries("exporter")


def create_prompt_writer(name: str, **options: Any) -> Any:
    return create("prompt_writer", name, options)


def create_generator(name: str, **options: Any) -> Any:
    return create("generator", name, options)


def create_discriminator(name: str, **options: Any) -> Any:
    return create("discriminator", name, options)


def create_fusion_head(name: str, **options: Any) -> Any:
    return create("fusion_head", name, options)


def create_dataset(name: str, **options: Any) -> Any:
    return create("dataset", name, options)


def create_exporter(name: str, **options: Any) -> Any:
    return create("exporter", name, options)

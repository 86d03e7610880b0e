"""CLI subcommands plugins add through the ``register_commands`` hook, collected one plugin at a time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tailorgen.registry.manager import LoadError, PluginSource

__all__ = ["PluginCommand", "collect_commands"]


@dataclass(frozen=True)
class PluginCommand:
    """A click command a plugin added, and who added it."""

    name: str
    command: Any  # click.Command
    source: PluginSource


def _who(source: PluginSource) -> str:
    return f"plugin {source.plugin!r} ({source.distribution})"


def collect_commands(
    plugin_manager: Any, by_plugin: dict[str, PluginSource], reserved: Iterable[str] = ()
) -> tuple[dict[str, PluginCommand], list[LoadError]]:
    """Run every ``register_commands`` hook on its own click group; ``reserved`` names are built-ins.

    Each plugin gets a fresh group, so a command is attributed to its plugin, and a name clash is an
    error naming both sides: a built-in keeps its name; a name two plugins claim goes to neither (as
    with duplicate entry names), so which one runs never depends on installation order.
    """
    import click

    builtin = set(reserved)
    offered: dict[str, list[PluginCommand]] = {}
    errors: list[LoadError] = []
    for impl in plugin_manager.hook.register_commands.get_hookimpls():  # registration order
        source = by_plugin[impl.plugin_name]
        group = click.Group(name=source.plugin)
        try:
            impl.function(cli=group)
        except Exception as exc:
            errors.append(LoadError(source, f"register_commands: {type(exc).__name__}: {exc}"))
            continue
        for name, command in sorted(group.commands.items()):
            if name in builtin:
                errors.append(LoadError(source, f"command {name!r} is already a built-in command: rename it"))
            else:
                offered.setdefault(name, []).append(PluginCommand(name, command, source))
    commands: dict[str, PluginCommand] = {}
    for name, providers in sorted(offered.items()):
        if len(providers) == 1:
            commands[name] = providers[0]
            continue
        who = " and ".join(_who(p.source) for p in providers)
        errors.append(
            LoadError(
                providers[-1].source,
                f"command {name!r} is provided by both {who}: neither is used, rename one",
            )
        )
    return commands, errors

"""``tailorgen plugins``: what is registered, by whom, and what failed to load."""

from __future__ import annotations

import json

import click
from tailorgen.registry import ROLES, get_registry

__all__ = ["plugins"]


@click.command()
@click.option("--role", type=click.Choice(ROLES), help="Only this role.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(role: str | None, as_json: bool) -> None:
    """List registered plugins by role, the CLI commands plugins add, and load errors."""
    from tailorgen.cli import COMMANDS

    registry = get_registry()
    commands = registry.commands(reserved=COMMANDS)  # run the hooks: their failures are listed too
    roles = [role] if role else list(ROLES)
    data = {
        "roles": {
            r: [
                {
                    "name": e.name,
                    "description": e.description,
                    "plugin": e.source.plugin,
                    "distribution": e.source.distribution,
                    "version": e.source.version,
                    "options": sorted(e.cls.Options.model_fields),
                }
                for e in registry.list(r)
            ]
            for r in roles
        },
        "commands": [
            {
                "name": c.name,
                "plugin": c.source.plugin,
                "distribution": c.source.distribution,
                "version": c.source.version,
            }
            for c in sorted(commands.values(), key=lambda c: c.name)
        ],
        "errors": [
            {
                "plugin": err.source.plugin,
                "distribution": err.source.distribution,
                "version": err.source.version,
                "error": err.error,
            }
            for err in registry.errors
        ],
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for r, entries in data["roles"].items():
            click.echo(f"{r}:")
            for e in entries or [{"name": "(none)", "description": "", "distribution": "", "version": ""}]:
                origin = f"  [{e['distribution']} {e['version']}]" if e["distribution"] else ""
                click.echo(f"  {e['name']:<16} {e['description']}{origin}")
        if data["commands"]:
            click.echo("commands:")
            for c in data["commands"]:
                click.echo(
                    f"  {c['name']:<16} tailorgen {c['name']} --help  [{c['distribution']} {c['version']}]"
                )
        for err in data["errors"]:
            click.echo(f"failed: {err['plugin']} ({err['distribution']}): {err['error']}", err=True)
    registry.check_strict()

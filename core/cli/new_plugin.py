"""``tailorgen new-plugin NAME --role ROLE``: start a plugin distribution whose conformance test passes."""

from __future__ import annotations

from pathlib import Path

import click
from tailorgen.registry.hookspecs import ROLE_HOOKS

__all__ = ["new_plugin"]


@click.command("new-plugin")
@click.argument("name")
@click.option("--role", type=click.Choice(list(ROLE_HOOKS)), required=True, help="What the plugin provides.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Folder to write tailorgen-NAME/ into.",
)
def new_plugin(name: str, role: str, out_dir: Path) -> None:
    """Write tailorgen-NAME/: a pyproject with the `tailorgen` entry point, a package registering one
    ROLE class named NAME (with a documented Options model) and tests/test_conformance.py.
    Then: pip install -e DIR/tailorgen-NAME && (cd DIR/tailorgen-NAME && pytest)
    """
    from tailorgen.scaffold import write_plugin

    target = write_plugin(name, role, out_dir)
    click.echo(str(target))

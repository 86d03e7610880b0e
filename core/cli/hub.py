"""``tailorgen hub list``: find published tailorgen models and their label sets."""

from __future__ import annotations

import json

import click
from tailorgen.cli import example_epilog

__all__ = ["hub"]


@click.group()
def hub() -> None:
    """Browse tailorgen models on the Hugging Face Hub."""


@hub.command("list", epilog=example_epilog("tailorgen hub list --search tiny --label cat --json"))
@click.option("--search", metavar="TEXT", help="Only repos whose id contains TEXT.")
@click.option(
    "--label", "labels", multiple=True, metavar="NAME", help="Only models that know this label (repeatable)."
)
@click.option("--limit", default=100, show_default=True, help="At most this many repos from the Hub.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per model).")
def list_models(search: str | None, labels: tuple[str, ...], limit: int, as_json: bool) -> None:
    """List tailorgen models (library or tag `tailorgen`) with their label sets."""
    from tailorgen.hub import find_models

    models = find_models(search, labels, limit)
    if as_json:
        click.echo(json.dumps([m.as_dict() for m in models], indent=2))
        return
    if not models:
        click.echo("no tailorgen models found", err=True)
    for model in models:
        click.echo(
            f"{model.repo_id}  {len(model.labels)} labels ({len(model.seen)} seen, {len(model.unseen)} unseen)"
            + (f"  set: {model.label_set}" if model.label_set else "")
        )
        if model.unseen:
            click.echo(f"  unseen: {', '.join(model.unseen)}")

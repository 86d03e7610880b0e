"""``tailorgen labels``: show a label set (preset or file)."""

from __future__ import annotations

import json

import click
from tailorgen.data.labels import list_presets, load_label_set

__all__ = ["labels"]


@click.command()
@click.argument("spec", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the whole label set as JSON.")
def labels(spec: str | None, as_json: bool) -> None:
    """Show label set SPEC (a preset name or a .json/.toml/.txt file); without SPEC list the presets."""
    if spec is None:
        for name in list_presets():
            click.echo(name)
        return
    label_set = load_label_set(spec)
    if as_json:
        click.echo(json.dumps(label_set.model_dump(mode="json"), indent=2))
        return
    click.echo(
        f"{label_set.name}: {len(label_set.seen)} seen, {len(label_set.unseen)} unseen, "
        f"{len(label_set.labels) - len(label_set.used)} unused"
    )
    click.echo(f"unseen: {', '.join(label_set.unseen)}")
    if label_set.confusable:
        click.echo("never together: " + ", ".join(f"{a}/{b}" for a, b in label_set.confusable))

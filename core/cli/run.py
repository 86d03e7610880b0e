"""``tailorgen run CONFIG``: run (or plan) the configured stages."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tailorgen.config import load_config
from tailorgen.pipeline import plan_pipeline, run_pipeline

__all__ = ["run", "stage_list"]


def stage_list(value: str | None) -> list[str] | None:
    return [s.strip() for s in value.split(",") if s.strip()] if value else None


@click.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option("--stages", help="Comma-separated stages to run (default: the config's run.stages).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value.")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), help="Run directory (default: run.out_dir)."
)
@click.option("--dry-run", is_flag=True, help="Print the plan (plugins, models, counts); load no model.")
def run(
    config_path: Path, stages: str | None, overrides: tuple[str, ...], out_dir: Path | None, dry_run: bool
) -> None:
    """Run the stages of the pipeline described by CONFIG (a TOML file)."""
    config = load_config(config_path, overrides)
    if dry_run:
        click.echo(json.dumps(plan_pipeline(config, stage_list(stages), out_dir), indent=2, default=str))
        return
    run_pipeline(config, stage_list(stages), out_dir)

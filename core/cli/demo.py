"""``tailorgen demo`` and ``tailorgen demo-models``: the offline end-to-end demo on tiny models."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import click
from tailorgen.cli.run import echo_summary, stage_list
from tailorgen.config import load_config
from tailorgen.pipeline import run_pipeline

__all__ = ["default_models_dir", "demo", "demo_models"]


def default_models_dir() -> Path:
    cache = (
        os.environ.get("TAILORGEN_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    )
    base = Path(cache) if os.environ.get("TAILORGEN_CACHE") else Path(cache) / "tailorgen"
    return base / "demo-models"


@click.command("demo-models")
@click.argument("directory", type=click.Path(path_type=Path))
def demo_models(directory: Path) -> None:
    """Write the tiny, randomly initialised demo/test models and data set to DIRECTORY."""
    from tailorgen.testing import ensure_demo_models

    paths = ensure_demo_models(directory)
    click.echo(json.dumps({k: str(v) for k, v in paths.items()}, indent=2))


@click.command()
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True
)
@click.option("--stages", help="Comma-separated stages (default: every stage examples/tiny.toml lists).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value.")
@click.option(
    "--models-dir",
    type=click.Path(path_type=Path),
    envvar="TAILORGEN_DEMO_MODELS",
    help="Where the tiny models are cached (default: ~/.cache/tailorgen/demo-models).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON.")
def demo(
    out_dir: Path, *, stages: str | None, overrides: tuple[str, ...], models_dir: Path | None, as_json: bool
) -> None:
    """Run examples/tiny.toml offline on tiny random models (written once, then cached)."""
    from tailorgen.testing import ensure_demo_models

    models_dir = models_dir or default_models_dir()
    ensure_demo_models(models_dir)
    os.environ["TAILORGEN_DEMO_MODELS"] = str(models_dir.resolve())
    with resources.as_file(resources.files("tailorgen.examples").joinpath("tiny.toml")) as path:
        config = load_config(path, overrides, env=True)
    echo_summary(out_dir, run_pipeline(config, stage_list(stages), out_dir), as_json)

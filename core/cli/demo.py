"""``tailorgen demo`` and ``tailorgen demo-models``: the offline end-to-end demo.

In a clone (pretrained shapes-world models in ``benchmarks/shapes/weights``) the demo runs the
method in the shapes world (``examples/shapes.toml``); elsewhere on tiny random models
(``examples/tiny.toml``), which only show that data flows through every stage.
"""

from __future__ import annotations

import json
import logging
import os
from importlib import resources
from pathlib import Path

import click
from tailorgen.cli.run import echo_summary, stage_list
from tailorgen.config import load_config
from tailorgen.pipeline import run_pipeline

__all__ = ["default_models_dir", "demo", "demo_models"]

logger = logging.getLogger(__name__)


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
@click.option("--stages", help="Comma-separated stages (default: every stage the world's example lists).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value.")
@click.option(
    "--models-dir",
    type=click.Path(path_type=Path),
    envvar="TAILORGEN_DEMO_MODELS",
    help="Where the tiny models (and the shapes world's data set) are cached (default: ~/.cache/tailorgen/demo-models).",
)
@click.option(
    "--world",
    type=click.Choice(["auto", "shapes", "tiny"]),
    default="auto",
    show_default=True,
    envvar="TAILORGEN_DEMO_WORLD",
    help="shapes: pretrained shapes-world models (a clone's benchmarks/shapes/weights); "
    "tiny: random tiny models (data flow only); auto: shapes when its models are found.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON.")
def demo(
    out_dir: Path,
    *,
    stages: str | None,
    overrides: tuple[str, ...],
    models_dir: Path | None,
    world: str,
    as_json: bool,
) -> None:
    """Run the method offline: in the shapes world (examples/shapes.toml) or on tiny random models (examples/tiny.toml)."""
    from tailorgen.testing import ensure_demo_models
    from tailorgen.testing.shapes_demo import choose_world, ensure_shapes_data

    models_dir = models_dir or default_models_dir()
    chosen, weights = choose_world(world)  # type: ignore[arg-type]
    if chosen == "shapes":
        os.environ["TAILORGEN_SHAPES_WEIGHTS"] = str(weights)
        os.environ["TAILORGEN_SHAPES_DATA"] = str(ensure_shapes_data(models_dir / "shapes-coco"))
        world_line = f"[tailorgen] demo world: shapes (pretrained shapes-world models from {weights})"
    else:
        ensure_demo_models(models_dir)
        os.environ["TAILORGEN_DEMO_MODELS"] = str(models_dir.resolve())
        world_line = (
            "[tailorgen] demo world: tiny (random models: the data flows, nothing is learnt; "
            "a clone's benchmarks/shapes/weights gives the shapes world)"
        )
    with resources.as_file(resources.files("tailorgen.examples").joinpath(f"{chosen}.toml")) as path:
        config = load_config(path, overrides, env=True)
    results = run_pipeline(config, stage_list(stages), out_dir)
    logger.info(world_line)  # after the run, so an error stays the only line on stderr
    echo_summary(out_dir, results, as_json)

"""``tailorgen demo`` and ``tailorgen demo-models``: the offline end-to-end demo.

In a clone (pretrained shapes-world models in ``benchmarks/shapes/weights``) the demo runs the
method in the shapes world (``examples/shapes.toml``); elsewhere on tiny random models
(``examples/tiny.toml``), which only show that data flows through every stage.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import click
from tailorgen.cache import user_cache_dir
from tailorgen.cli.run import echo_summary, stage_list
from tailorgen.config import load_config
from tailorgen.pipeline import run_pipeline

__all__ = ["WORLD_ENV", "default_models_dir", "demo", "demo_models", "pinned_threads", "prepare_world"]

logger = logging.getLogger(__name__)


#: world -> the variable its example config reads the world's cache folder from
WORLD_ENV = {"tiny": "TAILORGEN_DEMO_MODELS", "shapes": "TAILORGEN_SHAPES_DATA"}


def default_models_dir(world: str = "tiny") -> Path:
    """A world's cache folder: ``$TAILORGEN_DEMO_MODELS`` (tiny) or ``$TAILORGEN_SHAPES_DATA`` (shapes)
    when set, else ``demo/<world>`` in the user cache (``~/.cache/tailorgen``): one folder per world."""
    named = os.environ.get(WORLD_ENV[world])
    return Path(named) if named else user_cache_dir("demo", world)


def prepare_world(world: str, directory: Path) -> dict[str, str]:
    """Build (once) what ``examples/<world>.toml`` reads into ``directory``; return the variables it needs."""
    from tailorgen.testing import ensure_demo_models
    from tailorgen.testing.shapes_demo import ensure_shapes_data, find_shapes_weights

    if world == "tiny":
        return {WORLD_ENV["tiny"]: str(ensure_demo_models(directory)["sd"].parent)}
    return {
        "TAILORGEN_SHAPES_WEIGHTS": str(find_shapes_weights()),
        WORLD_ENV["shapes"]: str(ensure_shapes_data(directory)),
    }


@contextlib.contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """Torch's CPU threads while the demo runs (restored after): its models are small, so more
    threads mostly contend (one thread took a quarter of the CPU time of two on a busy 2-core machine)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
    help="The world's cache folder, built on first use: the tiny world's models and data set "
    "(default: $TAILORGEN_DEMO_MODELS, else ~/.cache/tailorgen/demo/tiny) or the shapes world's "
    "data set (default: $TAILORGEN_SHAPES_DATA, else ~/.cache/tailorgen/demo/shapes).",
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
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    envvar="OMP_NUM_THREADS",
    default=1,
    show_default=True,
    help="CPU threads for torch (default: $OMP_NUM_THREADS, else 1: the demo's models are small "
    "and more threads mostly contend).",
)
@click.option(
    "--data-only",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Only build the world's data (and tiny models) into DIR, print the variables its example "
    'config reads (eval "$(...)" sets them) and stop.',
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON.")
def demo(
    out_dir: Path,
    *,
    stages: str | None,
    overrides: tuple[str, ...],
    models_dir: Path | None,
    world: str,
    threads: int,
    data_only: Path | None,
    as_json: bool,
) -> None:
    """Run the method offline: in the shapes world (examples/shapes.toml) or on tiny random models (examples/tiny.toml).

    Each world keeps its own cache folder (--models-dir), so both worlds and the benchmarks share one HOME.
    """
    from tailorgen.testing.shapes_demo import choose_world

    chosen, weights = choose_world(world)  # type: ignore[arg-type]
    if data_only is not None:
        for name, value in prepare_world(chosen, data_only).items():
            click.echo(f"export {name}={shlex.quote(value)}")
        return
    os.environ.update(prepare_world(chosen, models_dir or default_models_dir(chosen)))
    if chosen == "shapes":
        world_line = f"[tailorgen] demo world: shapes (pretrained shapes-world models from {weights})"
    else:
        world_line = (
            "[tailorgen] demo world: tiny (random models: the data flows, nothing is learnt; "
            "a clone's benchmarks/shapes/weights gives the shapes world)"
        )
    with resources.as_file(resources.files("tailorgen.examples").joinpath(f"{chosen}.toml")) as path:
        config = load_config(path, overrides, env=True)
    with pinned_threads(threads):
        results = run_pipeline(config, stage_list(stages), out_dir)
    logger.info(f"{world_line}; {threads} torch thread{'s' if threads > 1 else ''} (--threads)")
    echo_summary(out_dir, results, as_json)

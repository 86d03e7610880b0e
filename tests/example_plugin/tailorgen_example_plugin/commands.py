"""CLI command ``tailorgen stripes``, added through the ``register_commands`` hook."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["stripes"]


@click.command()
@click.argument("prompt")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the image.")
@click.option("--size", type=click.IntRange(8, 1024), default=64, show_default=True, help="Pixels per side.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PNG to write.")
def stripes(prompt: str, seed: int, size: int, out: Path) -> None:
    """Draw PROMPT's image with the example `stripes` generator and write it as a PNG.

    \b
    Example:
      tailorgen stripes "a red car" --seed 3 --out car.png
    """
    from tailorgen.io import atomic_path

    from tailorgen_example_plugin.stripes import StripesGenerator, StripesOptions

    image = StripesGenerator(StripesOptions(size=size)).generate([prompt], [seed])[0]
    with atomic_path(out, suffix=".png") as tmp:
        image.save(tmp, format="PNG")
    click.echo(str(out))

"""``tailorgen space MODEL --out DIR``: write a Gradio Space (app, requirements, card, examples)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["space"]


@click.command()
@click.argument("model")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Space folder (replaced).")
@click.option("--title", help="Space title (default: the label count).")
@click.option(
    "--example",
    "examples",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Example image or folder (repeatable; default: the run's first synthetic images).",
)
@click.option("--examples-count", type=click.IntRange(min=0), default=4, show_default=True)
@click.option("--top-k", type=click.IntRange(min=1), default=5, show_default=True, help="Labels shown.")
def space(
    model: str, *, out: Path, title: str | None, examples: tuple[Path, ...], examples_count: int, top_k: int
) -> None:
    """Write a Gradio Space for MODEL (a run directory or an exported .onnx) to --out.

    Try it locally with `python DIR/app.py` (needs gradio); upload it with
    `tailorgen publish RUN --repo-id USER/NAME --space`.
    """
    from tailorgen.space import write_space

    folder = write_space(
        model, out, title=title, examples=examples, example_count=examples_count, top_k=top_k
    )
    click.echo(str(folder))

"""``tailorgen show RUN_DIR``: a contact sheet of the generated images, to eyeball their quality."""

from __future__ import annotations

from pathlib import Path

import click
from tailorgen.errors import TailorgenError

__all__ = ["show"]


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--rejected", is_flag=True, help="Also show rejected images (kept with generate.keep_rejected)."
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    help="PNG to write (default RUN_DIR/contact_sheet.png).",
)
@click.option(
    "--max", "limit", type=click.IntRange(min=1), default=60, show_default=True, help="Most images shown."
)
@click.option("--columns", type=click.IntRange(min=1), default=6, show_default=True)
@click.option(
    "--size", type=click.IntRange(min=16), default=160, show_default=True, help="Thumbnail size in pixels."
)
def show(
    run_dir: Path, *, rejected: bool, out_path: Path | None, limit: int, columns: int, size: int
) -> None:
    """Render accepted (and optionally rejected) images of RUN_DIR/synthetic with labels and scores."""
    from tailorgen.synthetic.sheet import write_contact_sheet

    if not run_dir.is_dir():
        what = "is a file, not a run directory" if run_dir.exists() else "does not exist"
        raise TailorgenError(
            f"run directory {run_dir} {what}", "pass the run.out_dir of a run whose generate stage ran"
        )
    target = write_contact_sheet(
        run_dir, out_path, include_rejected=rejected, limit=limit, columns=columns, size=size
    )
    click.echo(str(target))

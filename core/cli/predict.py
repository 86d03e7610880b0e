"""``tailorgen predict MODEL IMAGE...``: top labels per image with any backend.

Inputs are checked before the model loads (a Hub download may take minutes); a missing or undecodable
image is reported on stderr and costs only its own result; the exit status is 1 if any image failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from tailorgen.cli.model_options import provider_option, threshold_option, top_k_option

__all__ = ["predict"]


@click.command()
@click.argument("model")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--backend",
    type=click.Choice(["auto", "torch", "onnx", "tensorrt"]),
    default="auto",
    show_default=True,
    help="auto: tensorrt for .engine, onnx for .onnx, torch for a run/classifier directory or Hub id.",
)
@provider_option
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="torch device (--backend torch); tensorrt: cuda or cuda:N.",
)
@top_k_option
@threshold_option
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Images decoded and run together.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print one JSON document at the end: {"backend", "results": [{"image", "labels"}], "errors": [{"image", "error"}]}.',
)
@click.option(
    "--jsonl",
    "as_jsonl",
    is_flag=True,
    help='Print JSON Lines, one object per image as each batch finishes: {"image", "labels"} or {"image", "error"}.',
)
def predict(
    model: str,
    images: tuple[Path, ...],
    *,
    backend: str,
    provider: str,
    device: str,
    top_k: int,
    threshold: float | str | None,
    batch_size: int,
    as_json: bool,
    as_jsonl: bool,
) -> None:
    """Label IMAGES with MODEL: a run directory, an exported .onnx/.engine, a classifier directory or a Hub id.

    An IMAGE may be a folder: its image files (.png, .jpg, .jpeg, .webp, .bmp, .gif, .tif, .tiff)
    are taken recursively, sorted, skipping hidden files and folders. Each image that is missing or
    does not decode is reported on stderr; the others still get results, and the exit status is 1.

    \b
    Example:
      tailorgen predict runs/demo photos/ --top-k 3 --jsonl > labels.jsonl
    """
    from tailorgen.predict import labels_json, load_predictor
    from tailorgen.predict.batches import predict_files
    from tailorgen.predict.images import ImageFailure, collect_images

    if as_json and as_jsonl:
        raise click.UsageError("--json and --jsonl are alternatives: pick one")
    paths, failures = collect_images(images)
    for failure in failures:
        _report(failure, as_jsonl)
    results: list[dict[str, Any]] = []
    used_backend = None
    if paths:  # no model load (maybe a Hub download) when nothing is left to label
        predictor = load_predictor(model, backend, provider=provider, device=device)
        used_backend = predictor.backend
        cut = predictor.resolve_threshold(threshold)
        for batch in predict_files(predictor, paths, batch_size):
            for outcome in batch:
                if isinstance(outcome, ImageFailure):
                    failures.append(outcome)
                    _report(outcome, as_jsonl)
                    continue
                labels = labels_json(outcome.probabilities, predictor.label_names, top_k, cut)
                result = {"image": outcome.image, "labels": labels}
                if as_json:
                    results.append(result)
                else:
                    _emit(result, as_jsonl)
    if as_json:
        errors = [{"image": f.image, "error": f.error} for f in failures]
        document = {"backend": used_backend, "results": results, "errors": errors}
        click.echo(json.dumps(document, indent=2))
    if failures:
        raise SystemExit(1)


def _report(failure: Any, as_jsonl: bool) -> None:
    """One line on stderr per bad image; JSON Lines also get a line, so every input has one."""
    click.echo(f"error: {failure.error}", err=True)
    if as_jsonl:
        click.echo(json.dumps({"image": failure.image, "error": failure.error}))


def _emit(result: dict[str, Any], as_jsonl: bool) -> None:
    if as_jsonl:
        click.echo(json.dumps(result))
        return
    labels = ", ".join(f"{item['label']} ({item['score']:.3f})" for item in result["labels"]) or "-"
    click.echo(f"{result['image']}: {labels}")

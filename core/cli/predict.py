"""``tailorgen predict MODEL IMAGE...``: top labels per image with any backend."""

from __future__ import annotations

import json
from pathlib import Path

import click

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
@click.option(
    "--provider",
    type=click.Choice(["cpu", "cuda", "tensorrt"]),
    default="cpu",
    show_default=True,
    help="onnxruntime execution provider (--backend onnx).",
)
@click.option("--device", default="auto", show_default=True, help="torch device (--backend torch).")
@click.option(
    "--top-k", type=click.IntRange(min=0), default=5, show_default=True, help="Labels per image (0: all)."
)
@click.option("--threshold", type=click.FloatRange(0, 1), help="Only labels with at least this probability.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per image) instead of text.")
def predict(
    model: str,
    images: tuple[Path, ...],
    *,
    backend: str,
    provider: str,
    device: str,
    top_k: int,
    threshold: float | None,
    batch_size: int,
    as_json: bool,
) -> None:
    """Label IMAGEs with MODEL: a run directory, an exported .onnx/.engine, a classifier directory or a Hub id."""
    from tailorgen.predict import load_predictor, top_labels

    predictor = load_predictor(model, backend, provider=provider, device=device)
    probabilities = predictor.predict(list(images), batch_size=batch_size)
    results = [
        {
            "image": str(path),
            "labels": [
                {"label": s.label, "score": round(s.score, 6)}
                for s in top_labels(row, predictor.label_names, top_k, threshold)
            ],
        }
        for path, row in zip(images, probabilities, strict=True)
    ]
    if as_json:
        click.echo(json.dumps({"backend": predictor.backend, "results": results}, indent=2))
        return
    for result in results:
        labels = ", ".join(f"{item['label']} ({item['score']:.3f})" for item in result["labels"]) or "-"
        click.echo(f"{result['image']}: {labels}")

"""``tailorgen serve MODEL``: an HTTP service with dynamic batching (LitServe), until SIGTERM or Ctrl-C."""

from __future__ import annotations

import click
from tailorgen.cli.model_options import provider_option, threshold_option, top_k_option
from tailorgen.errors import TailorgenError

__all__ = ["serve"]


@click.command()
@click.argument("model")
@click.option(
    "--backend",
    type=click.Choice(["auto", "torch", "onnx", "tensorrt"]),
    default="auto",
    show_default=True,
    help="As for tailorgen predict: auto picks torch, then onnx, then tensorrt.",
)
@click.option(
    "--host",
    type=click.Choice(["127.0.0.1", "0.0.0.0", "::"]),  # what LitServe binds to
    default="127.0.0.1",
    show_default=True,
    help="Interface: loopback only, or every IPv4 / IPv6 interface.",
)
@click.option("--port", type=click.IntRange(1024, 65535), default=8000, show_default=True)
@click.option(
    "--max-batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Most requests run as one model call.",
)
@click.option(
    "--batch-wait-ms",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Longest a request waits for others to share its batch.",
)
@click.option(
    "--max-request-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="Larger request bodies get 413.",
)
@top_k_option
@threshold_option
@provider_option
@click.option("--device", default="auto", show_default=True, help="torch device (--backend torch).")
@click.option(
    "--api-servers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="HTTP server processes (parsing and checking uploads); the model runs in one worker.",
)
@click.option(
    "--threads", type=click.IntRange(min=1), help="onnxruntime intra-op threads (default: its own)."
)
def serve(
    model: str,
    *,
    backend: str,
    host: str,
    port: int,
    max_batch_size: int,
    batch_wait_ms: float,
    max_request_mb: float,
    top_k: int,
    threshold: float | str | None,
    provider: str,
    device: str,
    threads: int | None,
    api_servers: int,
) -> None:
    """Serve MODEL over HTTP: POST /predict, GET /labels, GET /health, GET /openapi.json.

    MODEL is anything tailorgen predict takes. POST /predict takes images as multipart form data
    or JSON {"images": ["<base64>", ...]} and answers {"backend", "results": [{"image", "labels"}]},
    the labels as tailorgen predict --json gives them. Concurrent requests are batched.
    """
    try:
        from tailorgen.serve import ServeSettings
        from tailorgen.serve import serve as run_server
    except ImportError as exc:
        raise TailorgenError(
            f"tailorgen serve needs the serving extra ({exc.name} is missing)",
            "pip install 'tailorgen[serve]'",
        ) from None
    settings = ServeSettings(
        max_batch_size=max_batch_size,
        batch_timeout=batch_wait_ms / 1000,
        max_request_bytes=int(max_request_mb * 2**20),
        top_k=top_k,
        threshold=threshold,
        api_servers=api_servers,
    )
    run_server(
        model,
        backend,
        host=host,
        port=port,
        settings=settings,
        provider=provider,
        device=device,
        threads=threads,
    )

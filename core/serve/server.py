"""``tailorgen serve``: a LitServe server around :class:`PredictAPI`, with ``/labels`` and a drain on exit.

Shutdown (SIGTERM, or Ctrl-C): the HTTP server processes are asked to stop first (uvicorn stops
accepting and answers the requests in flight), and only then does LitServe stop the model worker.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any

import litserve as ls
from tailorgen.serve.api import PredictAPI
from tailorgen.serve.middleware import UploadCheckMiddleware

__all__ = ["ServeSettings", "TailorgenServer", "check_port", "serve"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeSettings:
    """How the server batches, bounds and labels requests."""

    max_batch_size: int = 16
    batch_timeout: float = 0.01
    max_request_bytes: int = 20 * 2**20
    top_k: int = 5
    threshold: float | str | None = None  # 'calibrated': each label's saved threshold
    timeout: float = 60.0
    drain_timeout: float = 30.0
    api_servers: int = 1


class TailorgenServer(ls.LitServer):
    """LitServer plus ``GET /labels`` and a shutdown that drains requests in flight."""

    def __init__(
        self, api: PredictAPI, label_names: list[str], backend: str, settings: ServeSettings
    ) -> None:
        middleware = (UploadCheckMiddleware, {"path": api.api_path, "max_bytes": settings.max_request_bytes})
        super().__init__(
            api,
            # one model worker: the predictor picks its own device (--device / --provider), so
            # LitServe's per-GPU workers would only load the same model twice on one device
            accelerator="cpu",
            timeout=settings.timeout,
            middlewares=[middleware],
            model_metadata={"backend": backend, "labels": len(label_names)},
            fast_queue=True,  # ZeroMQ between the HTTP servers and the model worker: measured 2x throughput
        )
        self.uvicorn_graceful_timeout = int(settings.drain_timeout)
        self._uvicorn: dict[int, Any] = {}
        self._draining = threading.Event()
        self._main_pid = os.getpid()

        async def labels() -> dict[str, Any]:
            """The label set, in the column order of the model's scores."""
            return {"backend": backend, "labels": label_names}

        self.app.add_api_route("/labels", labels, methods=["GET"])

    def _start_server(self, *args: Any, **kwargs: Any) -> dict[int, Any]:
        self._uvicorn = super()._start_server(*args, **kwargs)
        return self._uvicorn

    def _on_signal(self, signum: int, frame: Any) -> None:
        # the forked HTTP servers inherit this handler; uvicorn re-raises the signal there once it
        # has drained, which must not count as a second request to stop
        if os.getpid() != self._main_pid:
            return
        if not self._draining.is_set():
            self._draining.set()
            logger.info(
                f"[tailorgen] {signal.Signals(signum).name}: answering requests in flight, then stopping"
            )
            threading.Thread(target=self._drain, name="tailorgen-drain", daemon=True).start()

    def _drain(self) -> None:
        for worker in self._uvicorn.values():
            if worker.is_alive() and worker.pid:
                os.kill(worker.pid, signal.SIGTERM)  # uvicorn: stop accepting, finish what is in flight
        for worker in self._uvicorn.values():
            worker.join(timeout=self.uvicorn_graceful_timeout + 5)
        logging.getLogger("litserve.server").setLevel(logging.ERROR)  # its "already not alive" notes
        self._shutdown_event.set()  # LitServe then stops the model worker

    def run(self, *args: Any, **kwargs: Any) -> None:
        self._main_pid = os.getpid()
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            super().run(*args, generate_client_file=False, **kwargs)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def check_port(host: str, port: int) -> None:
    """A one-line error now, before the model loads, when ``host:port`` cannot be bound."""
    import socket

    from tailorgen.errors import TailorgenError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise TailorgenError(
                f"cannot listen on {host}:{port}: {exc.strerror}", "pick another --port"
            ) from None


def serve(
    model: str,
    backend: str = "auto",
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ServeSettings | None = None,
    provider: str = "cpu",
    device: str = "auto",
    threads: int | None = None,
    log_level: str = "warning",
) -> None:
    """Serve ``model`` (anything ``tailorgen predict`` takes) until SIGTERM or Ctrl-C."""
    from tailorgen.predict import load_predictor

    settings = settings or ServeSettings()
    check_port(host, port)
    # loaded once here so a bad MODEL is a one-line error before any process starts
    probe = load_predictor(model, backend, provider=provider, device=device, threads=threads)
    label_names, used = list(probe.label_names), probe.backend
    threshold = probe.resolve_threshold(settings.threshold)  # 'calibrated': the model's own
    del probe
    api = PredictAPI(
        model,
        used,
        provider=provider,
        device=device,
        threads=threads,
        top_k=settings.top_k,
        threshold=threshold,
        max_batch_size=settings.max_batch_size,
        batch_timeout=settings.batch_timeout,
    )
    server = TailorgenServer(api, label_names, used, settings)
    logger.info(f"[tailorgen] serving {model} ({used}, {len(label_names)} labels) on http://{host}:{port}")
    server.run(host=host, port=port, log_level=log_level, num_api_servers=settings.api_servers)

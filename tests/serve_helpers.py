"""Helpers of the serving tests: a free loopback port and a ``tailorgen`` server process to talk to."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tailorgen.testing.loopback import free_port, wait_until_healthy

__all__ = ["ServerProcess", "free_port", "onnx_run", "predict_json", "wait_until_healthy"]


def onnx_run(demo_models, run: Path) -> Path:
    """A run directory as train and export leave it: the tiny classifier and its model.onnx."""
    from export_helpers import tiny_classifier
    from tailorgen.exporters.onnx import OnnxExporter

    classifier = tiny_classifier(demo_models)
    classifier.save_pretrained(run / "classifier")
    OnnxExporter().export(classifier, run / "export")
    return run


def predict_json(model: Path, images: Sequence[str | Path], *args: str) -> dict[str, list[dict]]:
    """image file name -> its labels, as ``tailorgen predict MODEL IMAGES --backend onnx --json`` prints them."""
    import contextlib
    import io
    import json

    from tailorgen.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["predict", str(model), *map(str, images), "--backend", "onnx", "--json", *args]) is None
    return {Path(r["image"]).name: r["labels"] for r in json.loads(out.getvalue())["results"]}


class ServerProcess:
    """``python -m tailorgen ARGS`` on 127.0.0.1:PORT in its own process group, stopped on exit."""

    def __init__(self, args: Sequence[str], health_path: str = "/health", cwd: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tailorgen", *args, "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self.health_path = health_path

    def __enter__(self) -> ServerProcess:
        wait_until_healthy(self.url + self.health_path, self.process)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0, *, group: bool = False) -> int:
        """Send ``sig`` to the server's main process (or, as Ctrl-C in a terminal does, to its whole
        process group) and wait for its exit status."""
        if self.process.poll() is None:
            if group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.stop()
        # children (model worker, HTTP servers) share the process group: none may outlive the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

"""Helpers of the serving tests: a free loopback port and a ``tailorgen`` server process to talk to."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

__all__ = ["ServerProcess", "free_port", "wait_until_healthy"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 180.0) -> None:
    """Poll ``url`` (a bounded loop) until it answers 200; fail with the server's output otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    process.kill()
    raise AssertionError(f"no 200 from {url} in {timeout:.0f} s:\n{process.stdout.read()}")


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

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send ``sig`` to the server (its main process only) and wait for its exit status."""
        if self.process.poll() is None:
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

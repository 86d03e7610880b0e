"""A free port on 127.0.0.1 and waiting for a server process there (tests and benchmarks of ``serve``)."""

from __future__ import annotations

import socket
import subprocess
import time

__all__ = ["free_port", "wait_until_healthy"]


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 180.0) -> None:
    """Poll ``url`` (a bounded loop) until it answers 200; RuntimeError with the server's output otherwise."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"server exited with {process.returncode}: {output}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    process.kill()
    output = process.stdout.read() if process.stdout else ""
    raise RuntimeError(f"no 200 from {url} in {timeout:.0f} s: {output}")

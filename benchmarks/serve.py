"""``tailorgen serve`` under load: N concurrent clients against the same images sent one at a time.

The model is the trained shapes-world classifier that ``tailorgen demo`` leaves (its ONNX export,
on the CPU); the images are that run's synthetic pictures. The server is a real ``tailorgen serve``
process on 127.0.0.1; one image per request. First one client sends every image one at a time
(each waits for its answer), then ``--clients`` clients share the same images, and the server's
dynamic batching (``--max-batch-size``, ``--batch-wait-ms``) groups what arrives together.

    python benchmarks/serve.py [--run runs/demo] [--clients 8] [--requests 160] [--threads 1]

Without ``--run`` the demo is built first in a temporary folder (a few minutes on 2 cores).
Last line: ``ratio=<concurrent throughput / one-at-a-time throughput>`` (goal: >= 2 on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from tailorgen.testing.loopback import free_port, wait_until_healthy


def _demo_run(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "tailorgen", "--quiet", "demo", "--out", str(out)], check=True)
    return out


def _send(url: str, images: list[bytes]) -> list[float]:
    """Post each image in turn on one connection; the latency of each, in seconds."""
    latencies = []
    with httpx.Client(timeout=120) as client:
        for data in images:
            start = time.perf_counter()
            reply = client.post(url + "/predict", files={"image": ("image.png", data, "image/png")})
            latencies.append(time.perf_counter() - start)
            reply.raise_for_status()
    return latencies


def _measure(url: str, images: list[bytes], clients: int) -> tuple[float, np.ndarray]:
    """(images per second, latencies) with ``clients`` clients sharing ``images`` round robin."""
    shares = [images[i::clients] for i in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [t for part in pool.map(lambda share: _send(url, share), shares) for t in part]
    return len(images) / (time.perf_counter() - start), np.asarray(latencies)


def _report(name: str, throughput: float, latencies: np.ndarray) -> None:
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
    print(f"{name:<22} {throughput:8.1f} img/s   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a tailorgen demo run (default: build one now)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=160, help="images sent in each phase")
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--batch-wait-ms", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads of the server")
    parser.add_argument("--api-servers", type=int, default=1, help="HTTP server processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run = args.run or _demo_run(Path(scratch) / "demo")
        pictures = sorted((run / "synthetic").rglob("*.png"))
        if not pictures:
            raise SystemExit(f"{run} has no synthetic images: pass a run made by tailorgen demo")
        images = [pictures[i % len(pictures)].read_bytes() for i in range(args.requests)]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable,
            "-m",
            "tailorgen",
            "serve",
            str(run),
            "--backend",
            "onnx",
            "--port",
            str(port),
        ]
        command += ["--max-batch-size", str(args.max_batch_size), "--batch-wait-ms", str(args.batch_wait_ms)]
        command += ["--threads", str(args.threads), "--api-servers", str(args.api_servers)]
        server = subprocess.Popen(command, start_new_session=True)
        try:
            wait_until_healthy(url + "/health", server, timeout=300)
            _send(url, images[:8])  # warm-up: first calls allocate
            print(
                f"model {run / 'export' / 'model.onnx'}, {len(images)} images per phase, cpus {os.cpu_count()}"
            )
            one, one_latency = _measure(url, images, 1)
            many, many_latency = _measure(url, images, args.clients)
            _report("one at a time", one, one_latency)
            _report(f"{args.clients} concurrent clients", many, many_latency)
            print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
    print(f"ratio={many / one:.2f}")


if __name__ == "__main__":
    main()

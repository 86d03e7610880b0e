"""Inference speed of the trained shapes-world classifier: torch eager vs every onnxruntime variant
(and CUDA/TensorRT where present), each variant judged by the mAP it loses on the world's test split.

The model is a trained run's classifier: ``--run`` (default ``runs/demo``; when it holds no trained
classifier, ``tailorgen demo --out RUN --world shapes`` makes one first). Every ONNX variant is
written by the ``onnx`` exporter with the run's own export checks (``tailorgen.stages.export``):
static int8 is calibrated on the run's synthetic images, and each variant's mAP on the run's
``[evaluate]`` split (the shapes world's test split) is measured against PyTorch's by the
export stage's judge. Speed is images/s on the first images of that split at each batch size:
backends run in interleaved rounds and each keeps its best round (other processes only ever add
time); the whole measurement is repeated ``--repeats`` times in this invocation and the median is
printed, with the range. A variant's share of the peak is its images/s x GFLOP/image over this
machine's fp32 matmul peak (measured before and after; int8 can pass 100%). The load average
is printed as seen at the start and the end: the same run on a machine busy with other work is slower.
Time to first prediction is ``tailorgen predict RUN IMAGE --backend B`` from process start to its
first output line (median of 3).

    python benchmarks/inference.py [--run runs/demo] [--batch-sizes 1 16] [--rounds 5] [--repeats 3]
                                   [--threads N] [--map-budget 1]

Last line: ``ratio=<best speed-up over torch eager at batch 16 among the CPU variants within the
mAP budget>``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

Run = Callable[[np.ndarray], np.ndarray]
PAUSE_S = 0.3
TORCH = "torch eager (cpu)"

#: file -> backend name of the CPU variants
CPU_VARIANTS = {
    "model.onnx": "onnxruntime cpu",
    "model.optimized.onnx": "ort optimized",
    "model.fp16.onnx": "ort fp16",
    "model.int8.onnx": "ort int8 dynamic",
    "model.int8-static.onnx": "ort int8 static",
}


def trained_run(run: Path) -> Path:
    if not (run / "classifier" / "model.safetensors").is_file():
        print(f"{run} has no trained classifier: tailorgen demo --out {run} --world shapes", file=sys.stderr)
        command = [sys.executable, "-m", "tailorgen", "demo", "--out", str(run), "--world", "shapes"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return run


def load_world(run: Path) -> tuple[Any, Any]:
    """(the run's classifier, its export checks: the test split and the calibration images)."""
    from tailorgen.classifier import Classifier
    from tailorgen.config import load_config
    from tailorgen.context import RunContext
    from tailorgen.stages.export import validation_settings

    model = Classifier.from_pretrained(str(run / "classifier")).eval()
    settings = validation_settings(RunContext(load_config(run / "config.toml"), run), model.label_names)
    if not settings.accuracy_images:
        raise SystemExit(f"{run}/config.toml has no [evaluate] dataset: no test split to judge mAP on")
    return model, settings


def peak_gflops(threads: int, size: int = 2048, repeat: int = 10) -> float:
    """Best fp32 matmul throughput on the CPU with ``threads`` threads."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(_seconds(lambda: a @ b) for _ in range(repeat))
    return 2 * size**3 / best / 1e9


def model_gflop(model: Any, image_size: int) -> float:
    """GFLOP of one image (multiply-adds count 2), by PyTorch's FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.zeros(1, 3, image_size, image_size))
    return counter.get_total_flops() / 1e9


def _seconds(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def export_variants(model: Any, out: Path, settings: Any) -> dict[str, float]:
    """Write every CPU variant (none refused, so each can be timed); backend name -> mAP loss."""
    from tailorgen.exporters.onnx import OnnxExporter, OnnxOptions

    exporter = OnnxExporter(OnnxOptions(optimize=True, fp16=True, int8=True, int8_static=True))
    exporter.validation = settings.model_copy(update={"map_budget": float("inf")})
    exporter.export(model, out)
    return {CPU_VARIANTS[r.artefact]: float(r.map_loss) for r in exporter.reports} | {TORCH: 0.0}


def backends(model: Any, export: Path, threads: int) -> dict[str, tuple[str, Run]]:
    """name -> (device it is compared on, run)."""
    from tailorgen.predict.onnx_backend import OnnxPredictor
    from tailorgen.predict.torch_backend import TorchPredictor

    found: dict[str, tuple[str, Run]] = {TORCH: ("cpu", TorchPredictor(model, "cpu").probabilities)}
    for file, name in CPU_VARIANTS.items():
        found[name] = ("cpu", OnnxPredictor(export / file, "cpu", threads).probabilities)
    if torch.cuda.is_available():
        import copy

        import onnxruntime as ort

        found["torch eager (cuda)"] = ("cuda", TorchPredictor(copy.deepcopy(model), "cuda").probabilities)
        for provider, ort_name in (
            ("cuda", "CUDAExecutionProvider"),
            ("tensorrt", "TensorrtExecutionProvider"),
        ):
            if ort_name in ort.get_available_providers():
                run = OnnxPredictor(export / "model.onnx", provider).probabilities
                found[f"onnxruntime {provider}"] = ("cuda", run)
        if importlib.util.find_spec("tensorrt"):
            from tailorgen.exporters.tensorrt import TensorRTExporter, TensorRTOptions
            from tailorgen.predict.tensorrt_backend import TensorRTPredictor

            engine = TensorRTExporter(TensorRTOptions(max_batch=16)).export(model, export)
            found["tensorrt"] = ("cuda", TensorRTPredictor(engine).probabilities)
    return found


def measure(runs: dict[str, tuple[str, Run]], images: np.ndarray, rounds: int) -> dict[str, dict[str, Any]]:
    """name -> images/s (best of ``rounds`` interleaved rounds) and the largest difference from torch."""
    outputs = {name: run(images) for name, (_, run) in runs.items()}  # warm-up + outputs to compare
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (_, run) in runs.items():
            time.sleep(PAUSE_S)  # the previous backend's threads stop spin-waiting (measured: +50% otherwise)
            times[name].append(_seconds(lambda run=run: run(images)))
    reference = {device: outputs[f"torch eager ({device})"] for device, _ in runs.values()}
    return {
        name: {
            "images_per_s": len(images) / min(times[name]),
            "max_diff": float(np.abs(outputs[name] - reference[device]).max()),
            "device": device,
        }
        for name, (device, _) in runs.items()
    }


def first_prediction_seconds(run: Path, image: str, backend: str, repeats: int = 3) -> float:
    """Median seconds from starting ``tailorgen predict`` to its first output line."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        command = [sys.executable, "-m", "tailorgen", "predict", str(run), image, "--backend", backend]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        ) as process:
            assert process.stdout is not None
            if not process.stdout.readline():
                raise SystemExit(f"tailorgen predict --backend {backend} printed nothing")
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/demo"), help="A trained shapes-world run.")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="Whole measurements; the median is printed.")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--map-budget", type=float, default=1.0, help="mAP a variant may lose")
    args = parser.parse_args()

    from tailorgen.predict.images import load_image
    from tailorgen.predict.onnx_backend import available_cores
    from tailorgen.predict.torch_backend import TorchPredictor

    load_start = os.getloadavg()[0]
    threads = args.threads or available_cores()
    torch.set_num_threads(threads)
    run = trained_run(args.run)
    model, settings = load_world(run)
    size = model.image_size
    gflop = model_gflop(model, size)
    peak = peak_gflops(threads)
    test_images = settings.accuracy_images
    count = max(args.batch_sizes)
    batch_inputs = TorchPredictor(model).preprocess([load_image(p) for p in test_images[:count]])
    with tempfile.TemporaryDirectory() as tmp:
        losses = export_variants(model, Path(tmp), settings)
        runs = backends(model, Path(tmp), threads)
        repeats = [
            {batch: measure(runs, batch_inputs[:batch], args.rounds) for batch in args.batch_sizes}
            for _ in range(args.repeats)
        ]
    peak = max(peak, peak_gflops(threads))  # measured before and after: the best is the machine's
    first = {backend: first_prediction_seconds(run, test_images[0], backend) for backend in ("torch", "onnx")}
    load_end = os.getloadavg()[0]

    print(
        f"shapes-world classifier ({run / 'classifier'}), {len(model.label_names)} labels, {size} px: {gflop:.4f} GFLOP/image"
    )
    print(
        f"CPU: {threads} threads, fp32 matmul peak {peak:.0f} GFLOP/s -> physical limit {peak / gflop:.0f} images/s"
    )
    print(
        f"load average (1 min): {load_start:.1f} at the start, {load_end:.1f} at the end (other processes slow every backend)"
    )
    print(
        f"mAP on the test split ({len(test_images)} images), budget {args.map_budget:g}; speeds: median of {args.repeats} repeats"
    )
    header = f"{'backend':<20}{'batch':>6}{'images/s':>10}{'range':>17}{'speed-up':>10}{'% of peak':>11}{'max diff':>10}{'mAP loss':>10}"
    print(header)
    medians: dict[int, dict[str, float]] = {}
    for batch in args.batch_sizes:
        medians[batch] = {}
        for name, row in repeats[0][batch].items():
            speeds = [r[batch][name]["images_per_s"] for r in repeats]
            medians[batch][name] = speed = statistics.median(speeds)
            base = statistics.median(
                r[batch][f"torch eager ({row['device']})"]["images_per_s"] for r in repeats
            )
            share = f"{100 * speed * gflop / peak:.0f}%" if row["device"] == "cpu" else "-"
            loss = f"{losses[name]:.2f}" if name in losses else "-"
            spread = f"{min(speeds):.0f}..{max(speeds):.0f}"
            print(
                f"{name:<20}{batch:>6}{speed:>10.0f}{spread:>17}{speed / base:>9.2f}x{share:>11}"
                f"{row['max_diff']:>10.1e}{loss:>10}"
            )
    print(
        f"time to first prediction (process start to first line, median of 3): torch {first['torch']:.1f} s, onnx {first['onnx']:.1f} s"
    )
    at16 = medians.get(16) or medians[max(medians)]
    within = [name for name in (TORCH, *CPU_VARIANTS.values()) if losses[name] <= args.map_budget]
    best = max(within, key=lambda name: at16[name])
    print(
        f"best within the mAP budget at batch {16 if 16 in medians else max(medians)}: {best}, "
        f"{100 * at16[best] * gflop / peak:.0f}% of the fp32 peak"
    )
    sys.stdout.flush()
    print(f"ratio={at16[best] / at16[TORCH]:.2f}")


if __name__ == "__main__":
    main()

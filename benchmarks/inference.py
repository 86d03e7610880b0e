"""Inference speed of an RN50-sized classifier: torch eager vs onnxruntime (and CUDA/TensorRT where present).

The classifier is the real tailorgen one (DualCoOp head, global-branch fusion, COCO's 65 labels) on
open_clip's RN50 architecture with random weights (``pretrained=None``: nothing is downloaded), at
224 px. It is exported with the ``onnx`` exporter (validated as usual), then every backend labels
the same batches. Backends are timed in interleaved rounds and each keeps its best round (as
``timeit`` does: other processes only ever add time, and torch's OpenMP threads suffer most from
them on a shared machine). Each speed-up is over torch eager on the same device, measured in
this run; ``max diff`` is the largest probability difference from torch eager on the same input.
The physical limit is the model's FLOPs over this machine's measured fp32 matmul peak.

Every ONNX variant runs on the CPU (fp32, optimised, fp16, dynamic int8, static int8 calibrated
on smooth synthetic pictures) and is judged by the mAP it loses: the weights are random, so the
targets are torch eager's own ranking (each label's positives are the pictures it scores above
the median: torch's mAP is 100) on other pictures, and a variant's loss is how far it reorders them.

    python benchmarks/inference.py [--batch-sizes 1 16] [--rounds 5] [--threads N] [--map-budget 1]

Last line: ``ratio=<best speed-up over torch eager at batch 16 among the CPU variants within the
mAP budget>`` (target >= 2.0 on 2 cores).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
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


def build_classifier(image_size: int) -> Any:
    from tailorgen.classifier import Classifier
    from tailorgen.data.labels import load_label_set

    torch.manual_seed(0)
    names = load_label_set("coco-48-17").used  # 48 seen + 17 unseen
    model = Classifier.build("RN50", names, fusion_head="global-branch", pretrained=None)
    if model.image_size != image_size:
        raise SystemExit(f"RN50 runs at {model.image_size} px, not {image_size}")
    return model


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


#: file -> backend name of the CPU variants
CPU_VARIANTS = {
    "model.onnx": "onnxruntime cpu",
    "model.optimized.onnx": "ort optimized",
    "model.fp16.onnx": "ort fp16",
    "model.int8.onnx": "ort int8 dynamic",
    "model.int8-static.onnx": "ort int8 static",
}


def map_losses(model: Any, export: Path, count: int = 48) -> dict[str, float]:
    """backend name -> mAP (x100) lost against torch eager's own ranking of ``count`` pictures."""
    from PIL import Image
    from tailorgen.evaluation.metrics import mean_average_precision
    from tailorgen.exporters.onnx_pixels import sample_pictures
    from tailorgen.predict.onnx_backend import OnnxPredictor
    from tailorgen.predict.torch_backend import TorchPredictor

    pictures = [Image.fromarray(p) for p in sample_pictures([(240, 320), (320, 240)] * (count // 2), seed=7)]
    reference = TorchPredictor(model, "cpu").predict(pictures)
    targets = reference > np.median(reference, axis=0)
    return {
        name: 100 - mean_average_precision(OnnxPredictor(export / file).predict(pictures), targets)
        for file, name in CPU_VARIANTS.items()
    }


def export_variants(model: Any, out: Path, budget: float) -> None:
    """All CPU variants; static int8 calibrated on pictures unlike the ones mAP is measured on."""
    from PIL import Image
    from tailorgen.exporters.base import ValidationSettings
    from tailorgen.exporters.onnx import OnnxExporter, OnnxOptions
    from tailorgen.exporters.onnx_pixels import sample_pictures

    calibration = []
    for i, picture in enumerate(sample_pictures([(224, 224)] * 32, seed=3)):
        calibration.append(str(out / f"calibration{i}.png"))
        Image.fromarray(picture).save(calibration[-1])
    exporter = OnnxExporter(OnnxOptions(optimize=True, fp16=True, int8=True, int8_static=True))
    exporter.validation = ValidationSettings(map_budget=budget, calibration_images=calibration)
    exporter.export(model, out)


def backends(model: Any, export: Path, threads: int) -> dict[str, tuple[str, Run]]:
    """name -> (device it is compared on, run)."""
    from tailorgen.predict.onnx_backend import OnnxPredictor
    from tailorgen.predict.torch_backend import TorchPredictor

    onnx_path = export / "model.onnx"
    found: dict[str, tuple[str, Run]] = {
        "torch eager (cpu)": ("cpu", TorchPredictor(model, "cpu").probabilities)
    }
    for file, name in CPU_VARIANTS.items():
        found[name] = ("cpu", OnnxPredictor(export / file, "cpu", threads).probabilities)
    if torch.cuda.is_available():
        import copy

        found["torch eager (cuda)"] = ("cuda", TorchPredictor(copy.deepcopy(model), "cuda").probabilities)
        import onnxruntime as ort

        for provider, ort_name in (
            ("cuda", "CUDAExecutionProvider"),
            ("tensorrt", "TensorrtExecutionProvider"),
        ):
            if ort_name in ort.get_available_providers():
                found[f"onnxruntime {provider}"] = ("cuda", OnnxPredictor(onnx_path, provider).probabilities)
        if importlib.util.find_spec("tensorrt"):
            from tailorgen.exporters.tensorrt import TensorRTExporter, TensorRTOptions
            from tailorgen.predict.tensorrt_backend import TensorRTPredictor

            engine = TensorRTExporter(TensorRTOptions(max_batch=16)).export(model, onnx_path.parent)
            found["tensorrt"] = ("cuda", TensorRTPredictor(engine).probabilities)
    return found


def measure(
    runs: dict[str, tuple[str, Run]], batch: int, size: int, rounds: int
) -> dict[str, dict[str, float]]:
    images = np.random.default_rng(batch).standard_normal((batch, 3, size, size), dtype=np.float32)
    outputs = {name: run(images) for name, (_, run) in runs.items()}  # warm-up + outputs to compare
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (_, run) in runs.items():
            time.sleep(PAUSE_S)  # the previous backend's threads stop spin-waiting (measured: +50% otherwise)
            times[name].append(_seconds(lambda run=run: run(images)))
    reference = {device: outputs[f"torch eager ({device})"] for device, _ in runs.values()}
    return {
        name: {
            "images_per_s": batch / min(times[name]),
            "max_diff": float(np.abs(outputs[name] - reference[device]).max()),
            "device": device,
        }
        for name, (device, _) in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--map-budget", type=float, default=1.0, help="mAP a variant may lose")
    args = parser.parse_args()

    from tailorgen.predict.onnx_backend import available_cores

    threads = args.threads or available_cores()
    torch.set_num_threads(threads)
    model = build_classifier(args.image_size)
    gflop = model_gflop(model, args.image_size)
    peak = peak_gflops(threads)
    with tempfile.TemporaryDirectory() as tmp:
        export_variants(model, Path(tmp), args.map_budget)
        losses = map_losses(model, Path(tmp))
        runs = backends(model, Path(tmp), threads)
        results = {batch: measure(runs, batch, args.image_size, args.rounds) for batch in args.batch_sizes}
    peak = max(peak, peak_gflops(threads))  # measured before and after: the best is the machine's

    limit = peak / gflop
    print(f"RN50 classifier, {len(model.label_names)} labels, {args.image_size} px: {gflop:.2f} GFLOP/image")
    print(
        f"CPU: {threads} threads, fp32 matmul peak {peak:.0f} GFLOP/s -> physical limit {limit:.1f} images/s"
    )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (other processes slow every backend)")
    header = f"{'backend':<22}{'batch':>6}{'images/s':>11}{'speed-up':>10}{'% of peak':>11}{'max diff':>11}"
    print(header + f"{'mAP loss':>10}")
    for batch, rows in results.items():
        for name, row in rows.items():
            base = rows[f"torch eager ({row['device']})"]["images_per_s"]
            share = f"{100 * row['images_per_s'] * gflop / peak:.0f}%" if row["device"] == "cpu" else "-"
            loss = f"{losses[name]:.2f}" if name in losses else "-"
            print(
                f"{name:<22}{batch:>6}{row['images_per_s']:>11.2f}{row['images_per_s'] / base:>9.2f}x"
                f"{share:>11}{row['max_diff']:>11.1e}{loss:>10}"
            )
    at16 = results.get(16) or results[max(results)]
    ratio = max(
        at16[name]["images_per_s"] / at16["torch eager (cpu)"]["images_per_s"]
        for name in CPU_VARIANTS.values()
        if losses[name] <= args.map_budget
    )
    sys.stdout.flush()
    print(f"ratio={ratio:.2f}")


if __name__ == "__main__":
    main()

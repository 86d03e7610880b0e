"""ONNX Runtime backend on the CPU, CUDA or TensorRT execution provider."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.predict.base import Predictor

__all__ = ["PROVIDERS", "OnnxPredictor", "available_cores", "create_session"]

#: --provider value -> onnxruntime execution providers, preferred first (later ones run what it cannot)
PROVIDERS: dict[str, tuple[str, ...]] = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def create_session(path: str | Path, provider: str = "cpu", threads: int | None = None) -> Any:
    """An InferenceSession that really runs on ``provider`` (error if onnxruntime dropped it)."""
    import onnxruntime as ort

    if provider not in PROVIDERS:
        raise TailorgenError(
            f"unknown onnxruntime provider {provider!r}", f"use one of {', '.join(PROVIDERS)}"
        )
    wanted = PROVIDERS[provider][0]
    if wanted not in ort.get_available_providers():
        raise TailorgenError(
            f"this onnxruntime ({ort.__version__}) has no {wanted}",
            "install onnxruntime-gpu instead of onnxruntime (pip install 'tailorgen[onnx-gpu]')",
        )
    options = ort.SessionOptions()
    # Both measured to matter on CPU (NOTES.md): the defaults made onnxruntime slower than torch.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or available_cores()
    options.log_severity_level = 3  # errors only: stdout/stderr stay readable
    try:
        session = ort.InferenceSession(str(path), options, providers=_provider_chain(provider, Path(path)))
    except Exception as exc:  # onnxruntime raises a zoo of pybind11 exception classes
        raise TailorgenError(f"cannot load ONNX model {path}: {exc}") from None
    taken = session.get_providers()
    if wanted not in taken:  # onnxruntime-gpu falls back to CPU silently when CUDA/TensorRT fail
        raise TailorgenError(
            f"onnxruntime dropped {wanted} for {path} and would run on {', '.join(taken)}",
            "check that the GPU, CUDA and (for tensorrt) TensorRT libraries are visible, or use the cpu provider",
        )
    return session


def _provider_chain(provider: str, path: Path) -> list[Any]:
    chain: list[Any] = list(PROVIDERS[provider])
    if provider == "tensorrt":  # cache engines beside the model: building one takes minutes
        cache = str(path.parent / "ort-tensorrt-cache")
        chain[0] = (
            chain[0],
            {
                "trt_engine_cache_enable": True,
                "trt_engine_cache_path": cache,
                "trt_timing_cache_enable": True,
                "trt_timing_cache_path": cache,
            },
        )
    return chain


class OnnxPredictor(Predictor):
    """An exported ``.onnx`` classifier run by onnxruntime; metadata comes from the file itself."""

    backend = "onnx"

    def __init__(self, path: str | Path, provider: str = "cpu", threads: int | None = None) -> None:
        self.path = Path(path)
        self.provider = provider
        self.session = create_session(self.path, provider, threads)
        props = dict(self.session.get_modelmeta().custom_metadata_map)
        super().__init__(ModelMetadata.from_props(props, str(self.path)))
        self.input_name = self.session.get_inputs()[0].name

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(images, dtype=np.float32)
        return np.asarray(self.session.run(None, {self.input_name: batch})[0], dtype=np.float32)

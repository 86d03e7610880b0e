"""ONNX Runtime backend on the CPU, CUDA or TensorRT execution provider.

Nothing here imports torch: preprocessing runs in PIL and numpy (tailorgen.predict.preprocessing),
so predicting with an exported model needs the ``onnx`` extra and no torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.predict.base import Predictor

__all__ = [
    "PROVIDERS",
    "OnnxPredictor",
    "PixelsOnnxPredictor",
    "available_cores",
    "create_session",
    "open_onnx",
]

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

    def __init__(
        self, path: str | Path, provider: str = "cpu", threads: int | None = None, session: Any = None
    ) -> None:
        self.path = Path(path)
        self.provider = provider
        self.session = session or create_session(self.path, provider, threads)
        props = dict(self.session.get_modelmeta().custom_metadata_map)
        super().__init__(ModelMetadata.from_props(props, str(self.path)))
        self.input_name = self.session.get_inputs()[0].name

    def preprocess(self, images: Any) -> np.ndarray:
        """PIL images -> the normalised batch, in PIL and numpy (the classifier's eval transform, no torch)."""
        from tailorgen.predict.preprocessing import preprocess_images

        return preprocess_images(images, self.metadata.preprocess, self.metadata.image_size)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(images, dtype=np.float32)
        return np.asarray(self.session.run(None, {self.input_name: batch})[0], dtype=np.float32)


class PixelsOnnxPredictor(OnnxPredictor):
    """An exported ``.pixels.onnx``: decoded uint8 RGB pixels (N, H, W, 3) in, the graph preprocesses.

    Images of one batch must share a size, so a batch runs as one call per distinct size.
    A fixed-size graph refuses images of another size.
    """

    def __init__(
        self, path: str | Path, provider: str = "cpu", threads: int | None = None, session: Any = None
    ) -> None:
        super().__init__(path, provider, threads, session)
        dims = self.session.get_inputs()[0].shape[1:3]
        self.fixed_size = tuple(dims) if all(isinstance(d, int) for d in dims) else None

    def preprocess(self, images: Any) -> np.ndarray:
        """PIL images of one size -> (B, H, W, 3) uint8."""
        return np.stack([np.asarray(image.convert("RGB"), dtype=np.uint8) for image in images])

    def predict_images(self, images: Any) -> np.ndarray:
        sizes = [image.size[::-1] for image in images]
        wrong = [s for s in sizes if self.fixed_size and s != self.fixed_size]
        if wrong:
            raise TailorgenError(
                f"{self.path} takes {self.fixed_size[0]}x{self.fixed_size[1]} (H x W) images, got {wrong[0][0]}x{wrong[0][1]}",
                "resize the images first, or export the pixels variant without pixels_size",
            )
        out = np.zeros((len(images), len(self.label_names)), dtype=np.float32)
        for size in dict.fromkeys(sizes):
            rows = [i for i, s in enumerate(sizes) if s == size]
            out[rows] = self.probabilities(self.preprocess([images[i] for i in rows]))
        return out

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) uint8 pixels -> (B, C) probabilities."""
        batch = np.ascontiguousarray(images, dtype=np.uint8)
        return np.asarray(self.session.run(None, {self.input_name: batch})[0], dtype=np.float32)


def open_onnx(path: str | Path, provider: str = "cpu", threads: int | None = None) -> OnnxPredictor:
    """The predictor for an exported ``.onnx``: pixels (uint8) input or normalised float input."""
    session = create_session(path, provider, threads)
    kind = PixelsOnnxPredictor if session.get_inputs()[0].type == "tensor(uint8)" else OnnxPredictor
    return kind(path, provider, threads, session)

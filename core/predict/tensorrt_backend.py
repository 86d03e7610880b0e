"""TensorRT backend: a serialized engine run with device buffers owned by PyTorch (CUDA)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError, first_line
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.predict.base import Predictor

__all__ = ["TensorRTPredictor", "TensorRTRunner", "metadata_path", "require_tensorrt"]

INSTALL_HINT = (
    "install it on a machine with an NVIDIA GPU: pip install 'tailorgen[tensorrt]' "
    "(or pip install tensorrt; its libraries come from NVIDIA's package index)"
)


def require_tensorrt() -> ModuleType:
    """``import tensorrt``, or a one-line error saying how to install it."""
    try:
        import tensorrt
    except (ImportError, OSError) as exc:
        raise TailorgenError(f"TensorRT is not available ({first_line(exc)})", INSTALL_HINT) from None
    return tensorrt


def metadata_path(engine: Path) -> Path:
    """Engines carry no metadata: it lives in ``<engine>.json``."""
    return engine.with_name(engine.name + ".json")


class TensorRTRunner:
    """Deserialize an engine once; run batches of any size (split to fit its optimisation profile)."""

    def __init__(self, engine_path: str | Path, device: int = 0) -> None:
        import torch

        trt = require_tensorrt()
        if not torch.cuda.is_available():
            raise TailorgenError(
                "TensorRT needs a CUDA GPU and none is visible", "run on a machine with an NVIDIA GPU"
            )
        self.trt = trt
        self.device = torch.device("cuda", device)
        self.logger = trt.Logger(trt.Logger.WARNING)
        with torch.cuda.device(self.device):
            self.runtime = trt.Runtime(self.logger)  # kept: engines must not outlive their runtime
            self.engine = self.runtime.deserialize_cuda_engine(Path(engine_path).read_bytes())
            if self.engine is None:
                raise TailorgenError(
                    f"TensorRT cannot load engine {engine_path}",
                    "engines only run on the GPU model and TensorRT version that built them: export it again here",
                )
            self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.input, self.output = inputs[0], next(n for n in names if n not in inputs)
        self.max_batch = int(self.engine.get_tensor_profile_shape(self.input, 0)[2][0])

    def _dtype(self, name: str) -> Any:
        import torch

        kinds = {self.trt.DataType.FLOAT: torch.float32, self.trt.DataType.HALF: torch.float16}
        return kinds[self.engine.get_tensor_dtype(name)]

    def _run(self, images: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device, self._dtype(self.input))
        self.context.set_input_shape(self.input, tuple(x.shape))
        y = torch.empty(
            tuple(self.context.get_tensor_shape(self.output)),
            dtype=self._dtype(self.output),
            device=self.device,
        )
        self.context.set_tensor_address(self.input, x.data_ptr())
        self.context.set_tensor_address(self.output, y.data_ptr())
        stream = torch.cuda.current_stream(self.device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise TailorgenError("TensorRT failed to run the engine", "see the TensorRT messages above")
        stream.synchronize()
        return y.float().cpu().numpy()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        chunks = [self._run(images[i : i + self.max_batch]) for i in range(0, len(images), self.max_batch)]
        return np.concatenate(chunks)


class TensorRTPredictor(Predictor):
    """A TensorRT engine written by the ``tensorrt`` exporter (metadata from ``<engine>.json``)."""

    backend = "tensorrt"

    def __init__(self, engine_path: str | Path, device: int = 0) -> None:
        require_tensorrt()  # first: without TensorRT the install hint is the whole answer
        self.path = Path(engine_path)
        super().__init__(ModelMetadata.from_json_file(metadata_path(self.path)))
        self.runner = TensorRTRunner(self.path, device)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return self.runner(np.asarray(images, dtype=np.float32))

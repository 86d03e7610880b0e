"""TensorRT backend: a serialized engine run on one CUDA device, with buffers owned by PyTorch."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError, first_line
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.predict.base import Predictor

__all__ = [
    "TensorRTPredictor",
    "TensorRTRunner",
    "cuda_device",
    "device_index",
    "metadata_path",
    "on_device",
    "require_tensorrt",
]

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


def device_index(index: Any) -> int:
    """``index`` checked: TensorRT runs on CUDA memory only, so a device is a CUDA device index."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise TailorgenError(
            f"TensorRT device {index!r} is not a CUDA device index",
            "pass device=N (0 for the first GPU); TensorRT runs on CUDA memory only",
        )
    return index


def cuda_device(index: int) -> Any:
    """``torch.device("cuda", index)`` after checking that the index names a visible GPU."""
    import torch

    if not torch.cuda.is_available():
        raise TailorgenError(
            "TensorRT needs a CUDA GPU and none is visible", "run on a machine with an NVIDIA GPU"
        )
    if index >= torch.cuda.device_count():
        raise TailorgenError(
            f"CUDA device {index} does not exist ({torch.cuda.device_count()} visible)",
            "pick a device index below that (CUDA_VISIBLE_DEVICES renumbers them)",
        )
    return torch.device("cuda", index)


def on_device(index: int) -> AbstractContextManager[Any]:
    """TensorRT builds and runs on the *current* CUDA device: make it ``index`` for the block."""
    import torch

    return torch.cuda.device(index)


class TensorRTRunner:
    """Deserialize an engine once on CUDA device ``device``; run batches of any size within its profile.

    Batches above the profile's max are split; a batch (or last chunk) below its min is padded
    with blank images whose rows are dropped. Every TensorRT call's result is checked. Buffers are
    CUDA memory on ``device``, and every TensorRT call runs with that device current.
    """

    def __init__(self, engine_path: str | Path, device: int = 0) -> None:
        trt = require_tensorrt()
        self.index = device_index(device)
        self.device = self._buffer_device(device)
        self.trt = trt
        self.logger = trt.Logger(trt.Logger.WARNING)
        with self._current():
            self.runtime = trt.Runtime(self.logger)  # kept: engines must not outlive their runtime
            self.engine = self.runtime.deserialize_cuda_engine(Path(engine_path).read_bytes())
            if self.engine is None:
                raise TailorgenError(
                    f"TensorRT cannot load engine {engine_path}",
                    "engines only run on the GPU model and TensorRT version that built them: export it again here",
                )
            self.context = self.engine.create_execution_context()
        if self.context is None:
            raise TailorgenError(
                f"TensorRT cannot create an execution context for {engine_path}",
                "the GPU is probably out of memory: free it or use a smaller max_batch",
            )
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        if len(inputs) != 1 or len(names) != 2:
            raise TailorgenError(
                f"engine {engine_path} has tensors {names}; a tailorgen classifier has one input and one output"
            )
        self.input, self.output = inputs[0], next(n for n in names if n not in inputs)
        profile = self.engine.get_tensor_profile_shape(self.input, 0)
        self.min_batch, self.max_batch = int(profile[0][0]), int(profile[2][0])
        self.num_labels = int(self.engine.get_tensor_shape(self.output)[-1])
        self.dtypes = {name: self._dtype(name, engine_path) for name in names}

    def _buffer_device(self, index: int) -> Any:
        """Where the input and output buffers live (the test kit's host runner overrides this)."""
        return cuda_device(index)

    def _current(self) -> AbstractContextManager[Any]:
        return on_device(self.index)

    def _stream_handle(self) -> tuple[int, Any]:
        """(handle TensorRT enqueues on, what to wait for): PyTorch's current stream on the device."""
        import torch

        stream = torch.cuda.current_stream(self.device)
        return stream.cuda_stream, stream.synchronize

    def _dtype(self, name: str, engine_path: str | Path) -> Any:
        import torch

        kinds = {self.trt.DataType.FLOAT: torch.float32, self.trt.DataType.HALF: torch.float16}
        kind = self.engine.get_tensor_dtype(name)
        if kind not in kinds:
            raise TailorgenError(
                f"engine {engine_path}: tensor {name} has data type {kind}; the runner feeds float32 or float16",
                "build the engine with the tailorgen tensorrt exporter",
            )
        return kinds[kind]

    def _run(self, images: np.ndarray) -> np.ndarray:
        """One batch within the profile: bind buffers, run, wait, read back."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device, self.dtypes[self.input])
        if not self.context.set_input_shape(self.input, tuple(x.shape)):
            raise TailorgenError(
                f"the TensorRT engine refuses input shape {tuple(x.shape)}",
                f"its profile takes batches of {self.min_batch}..{self.max_batch} images of "
                f"{tuple(self.engine.get_tensor_shape(self.input))[1:]}",
            )
        shape = tuple(self.context.get_tensor_shape(self.output))
        y = torch.empty(shape, dtype=self.dtypes[self.output], device=self.device)
        handle, wait = self._stream_handle()
        ran = (
            self.context.set_tensor_address(self.input, x.data_ptr())
            and self.context.set_tensor_address(self.output, y.data_ptr())
            and self.context.execute_async_v3(handle)
        )
        if not ran:
            raise TailorgenError(
                "TensorRT failed to bind the buffers or run the engine", "see the TensorRT messages above"
            )
        wait()
        return y.float().cpu().numpy()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = [np.zeros((0, self.num_labels), dtype=np.float32)]
        with self._current():
            for start in range(0, len(images), self.max_batch):
                chunk = images[start : start + self.max_batch]
                blank = max(self.min_batch - len(chunk), 0)  # below the profile: pad, then drop those rows
                padded = np.concatenate([chunk, np.zeros((blank, *chunk.shape[1:]), chunk.dtype)])
                out.append(self._run(padded)[: len(chunk)])
        return np.concatenate(out)


class TensorRTPredictor(Predictor):
    """A TensorRT engine written by the ``tensorrt`` exporter (metadata from ``<engine>.json``)."""

    backend = "tensorrt"

    def __init__(
        self, engine_path: str | Path, device: int = 0, metadata: ModelMetadata | None = None
    ) -> None:
        require_tensorrt()  # first: without TensorRT the install hint is the whole answer
        self.path = Path(engine_path)
        super().__init__(metadata or ModelMetadata.from_json_file(metadata_path(self.path)))
        self.runner = TensorRTRunner(self.path, device)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return self.runner(np.asarray(images, dtype=np.float32))

"""A stand-in for the ``tensorrt`` module: the builder and the runtime of TensorRT 11's Python API.

The builder records what it is asked and serialises an "engine" that names the ONNX file it was
built from and its optimisation profile. The runtime deserialises that, refuses input shapes
outside the profile like TensorRT does (``set_input_shape`` returns False), and its
``execute_async_v3`` reads the input from the address bound with ``set_tensor_address``, runs the
ONNX file with onnxruntime and writes the output to the bound address.

The fake is a real module object (``__spec__``, ``__loader__``, ``__file__``): placed in
``sys.modules`` it answers ``importlib.util.find_spec("tensorrt")`` as an installed package does
(torch._dynamo asks on its first import). It also plays the CUDA "current device" TensorRT builds
and runs on (:meth:`FakeTensorRT.on_device`). The public runner takes CUDA memory only; the
:class:`HostTensorRTRunner` here binds host (CPU) buffers instead, which only this fake can read,
so the runner's own code runs end to end without a GPU. :func:`install` puts all of it in place.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.abc
import importlib.machinery
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
from tailorgen.predict import tensorrt_backend

__all__ = ["FakeTensorRT", "HostTensorRTRunner", "install"]

#: fake DataType -> numpy dtype of a buffer
_NUMPY = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8}


def _host_array(address: int, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A numpy view of ``shape`` elements of ``dtype`` at host memory ``address`` (no copy)."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buffer = (ctypes.c_byte * size).from_address(address)
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)


def _onnx_io(path: str) -> tuple[str, tuple[int, ...], str, int]:
    """(input name, input shape with -1 for a dynamic axis, output name, output width) of an ONNX file."""
    import onnx

    graph = onnx.load(path, load_external_data=False).graph
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in graph.input[0].type.tensor_type.shape.dim]
    width = graph.output[0].type.tensor_type.shape.dim[-1].dim_value
    return graph.input[0].name, tuple(dims), graph.output[0].name, int(width)


class _Context:
    """IExecutionContext: shapes within the profile, bound addresses, a run through onnxruntime."""

    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self.shape: tuple[int, ...] | None = None
        self.addresses: dict[str, int] = {}

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        lo, _, hi = self.engine.profile
        ok = (
            name == self.engine.input
            and len(shape) == len(lo)
            and all(a <= s <= b for a, s, b in zip(lo, shape, hi, strict=True))
        )
        self.shape = tuple(shape) if ok else None
        return ok

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        if name == self.engine.input:
            return self.shape or self.engine.declared_shape
        return (self.shape[0] if self.shape else -1, self.engine.width)

    def set_tensor_address(self, name: str, address: int) -> bool:
        if name not in (self.engine.input, self.engine.output) or not address:
            return False
        self.addresses[name] = address
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        engine = self.engine
        if engine.fake.fail_execution or self.shape is None or len(self.addresses) != 2:
            return False
        images = _host_array(self.addresses[engine.input], self.shape, _NUMPY[engine.input_dtype])
        session = engine.session()
        result = session.run(None, {session.get_inputs()[0].name: images.astype(np.float32)})[0]
        out = _host_array(self.addresses[engine.output], result.shape, _NUMPY[engine.output_dtype])
        out[...] = result
        engine.fake.calls.append(("execute", self.shape))
        engine.fake.devices.append(("execute", engine.fake.current_device))
        return True


class _Engine:
    """ICudaEngine deserialised from the fake builder's bytes."""

    def __init__(self, fake: FakeTensorRT, spec: dict[str, Any]) -> None:
        self.fake = fake
        self.onnx = spec["onnx"]
        self.input, self.declared_shape, self.output, self.width = _onnx_io(self.onnx)
        self.profile = tuple(tuple(s) for s in spec["profile"])
        self.input_dtype = self.output_dtype = fake.io_dtype
        self._session: Any = None
        self.num_io_tensors = 2 + fake.extra_outputs

    def session(self) -> Any:
        if self._session is None:
            import onnxruntime as ort

            self._session = ort.InferenceSession(self.onnx, providers=["CPUExecutionProvider"])
        return self._session

    def get_tensor_name(self, index: int) -> str:
        return [self.input, self.output][index] if index < 2 else f"extra{index}"

    def get_tensor_mode(self, name: str) -> str:
        return "INPUT" if name == self.input else "OUTPUT"

    def get_tensor_dtype(self, name: str) -> str:
        return self.input_dtype if name == self.input else self.output_dtype

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self.declared_shape if name == self.input else (-1, self.width)

    def get_tensor_profile_shape(self, name: str, profile: int) -> tuple[tuple[int, ...], ...]:
        assert name == self.input
        assert profile == 0
        return self.profile

    def create_execution_context(self) -> _Context | None:
        return None if self.fake.fail_context else _Context(self)


class _Loader(importlib.abc.Loader):
    """Hands out the one fake module (``importlib.util.module_from_spec`` and reloads work)."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        pass


class FakeTensorRT(ModuleType):
    """Enough of the TensorRT 11 Python API for the builder and the runner, recording what it was asked.

    ``foreign_cache`` is a timing cache TensorRT refuses: ``set_timing_cache`` returns False for it,
    or, with ``cache_refusal="none"``, ``create_timing_cache`` returns None (what a corrupt cache gets).
    """

    def __init__(
        self, version="11.4.0.106", parse_errors=(), foreign_cache=b"other-gpu", cache_refusal="false"
    ):
        super().__init__("tensorrt", "A stand-in for TensorRT (tests/fake_tensorrt.py).")
        self.__spec__ = importlib.machinery.ModuleSpec("tensorrt", _Loader(self), origin=__file__)
        self.__loader__ = self.__spec__.loader
        self.__file__ = __file__
        calls: list[tuple] = []
        fake = self

        class Network:
            def __init__(self):
                self.onnx: str | None = None
                self.shape: tuple[int, ...] = (-1, 3, 64, 64)  # when the parsed file is not a real ONNX

            num_inputs = 1

            def get_input(self, index):
                return SimpleNamespace(name="images", shape=self.shape)

        class Parser:
            def __init__(self, network, logger):
                self.network = network
                self.errors = [
                    SimpleNamespace(
                        desc=lambda d=d: d,
                        node=lambda n=n: n,
                        node_name=lambda: "/conv1",
                        node_operator=lambda: "Conv",
                    )
                    for d, n in parse_errors
                ]

            num_errors = property(lambda self: len(self.errors))

            def get_error(self, i):
                return self.errors[i]

            def parse_from_file(self, path):
                calls.append(("parse", path))
                self.network.onnx = path
                if Path(path).is_file():
                    self.network.shape = _onnx_io(path)[1]
                return not self.errors

        class Config:
            def __init__(self):
                self.cache = None
                self.profiles = []

            def set_memory_pool_limit(self, pool, size):
                calls.append(("workspace", size))

            def clear_flag(self, flag):
                calls.append(("clear_flag", flag))

            def create_timing_cache(self, data):
                calls.append(("create_timing_cache", bytes(data)))
                if cache_refusal == "none" and bytes(data) == foreign_cache:
                    return None
                return SimpleNamespace(data=bytes(data))

            def set_timing_cache(self, cache, ignore_mismatch):
                if cache.data == foreign_cache:
                    return False
                self.cache = cache
                return True

            def get_timing_cache(self):
                return SimpleNamespace(serialize=lambda: self.cache.data + b"+timings")

            def add_optimization_profile(self, profile):
                calls.append(("profile", profile.shapes))
                if fake.refuse_profile:
                    return -1
                self.profiles.append(profile.shapes)
                return len(self.profiles) - 1

        class Builder:
            def __init__(self, logger):
                pass

            def create_network(self, *flags):
                calls.append(("create_network", flags))
                return Network()

            create_builder_config = staticmethod(Config)

            def create_optimization_profile(self):
                profile = SimpleNamespace(shapes=None)
                profile.set_shape = lambda name, lo, opt, hi: setattr(profile, "shapes", (name, lo, opt, hi))
                return profile

            def build_serialized_network(self, network, config):
                fake.devices.append(("build", fake.current_device))
                if not fake.build_ok:
                    return None
                _, lo, opt, hi = config.profiles[0]
                spec = {"onnx": network.onnx, "profile": [lo, opt, hi]}
                return b"FAKE-ENGINE" + json.dumps(spec).encode()

        class Runtime:
            def __init__(self, logger):
                pass

            def deserialize_cuda_engine(self, data):
                fake.devices.append(("deserialize", fake.current_device))
                data = bytes(data)
                if not data.startswith(b"FAKE-ENGINE"):
                    return None  # TensorRT logs and returns None for a foreign or corrupt engine
                return _Engine(fake, json.loads(data[len(b"FAKE-ENGINE") :]))

        vars(self).update(
            __version__=version,
            calls=calls,
            devices=[],  # (what, CUDA device current while it happened)
            current_device=0,
            build_ok=True,
            refuse_profile=False,
            fail_context=False,
            fail_execution=False,
            io_dtype="FLOAT",
            extra_outputs=0,
            Builder=Builder,
            OnnxParser=Parser,
            Runtime=Runtime,
            Logger=type("Logger", (), {"WARNING": 2, "__init__": lambda self, level: None}),
            NetworkDefinitionCreationFlag=SimpleNamespace(STRONGLY_TYPED=1),
            MemoryPoolType=SimpleNamespace(WORKSPACE="workspace"),
            BuilderFlag=SimpleNamespace(TF32="tf32"),
            TensorIOMode=SimpleNamespace(INPUT="INPUT", OUTPUT="OUTPUT"),
            DataType=SimpleNamespace(FLOAT="FLOAT", HALF="HALF", INT8="INT8"),
        )

    @contextlib.contextmanager
    def on_device(self, index: int) -> Iterator[None]:
        """Stands in for ``torch.cuda.device(index)``: the device TensorRT calls see as current."""
        before, self.current_device = self.current_device, index
        try:
            yield
        finally:
            self.current_device = before


class HostTensorRTRunner(tensorrt_backend.TensorRTRunner):
    """The public runner with host (CPU) buffers: only the fake runtime, which reads host memory, can
    run it. Everything else (device switching, shapes, padding, checks) is the public runner's code."""

    def _buffer_device(self, index: int) -> Any:
        import torch

        return torch.device("cpu")

    def _stream_handle(self) -> tuple[int, Any]:
        return 0, lambda: None  # nothing runs asynchronously on the host


def install(monkeypatch: Any, trt: FakeTensorRT | None = None, gpu: str = "NVIDIA H200") -> FakeTensorRT:
    """Put ``trt`` (a new fake by default) in place of TensorRT, the host runner in place of the
    public one, the fake's current device in place of CUDA's, and ``gpu`` as every device's name."""
    from tailorgen.exporters import tensorrt as trt_exporter

    trt = trt or FakeTensorRT()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(tensorrt_backend, "TensorRTRunner", HostTensorRTRunner)
    monkeypatch.setattr(tensorrt_backend, "on_device", trt.on_device)
    monkeypatch.setattr(trt_exporter, "gpu_name", lambda device: gpu)
    return trt

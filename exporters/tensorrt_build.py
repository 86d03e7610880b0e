"""ONNX -> serialized TensorRT engine, with the TensorRT module passed in (so tests can fake it).

TensorRT 11 networks are strongly typed (there is no FP16 builder flag): an engine runs in the
precision of the ONNX it is built from, so fp16 engines come from an fp16 ONNX.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.io import atomic_write_bytes

__all__ = ["BatchProfile", "BuildResult", "build_engine", "device_key", "engine_file_name", "parser_errors"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchProfile:
    """Batch sizes the engine accepts (min..max) and the one it is tuned for (opt)."""

    min: int
    opt: int
    max: int

    def __post_init__(self) -> None:
        if not 1 <= self.min <= self.opt <= self.max:
            raise TailorgenError(
                f"bad TensorRT batch profile min={self.min} opt={self.opt} max={self.max}",
                "it needs 1 <= min_batch <= opt_batch <= max_batch",
            )


@dataclass(frozen=True)
class BuildResult:
    engine: Path
    input_name: str
    input_shape: tuple[int, ...]
    timing_cache: Path
    timing_cache_reused: bool


def device_key(gpu_name: str, trt_version: str) -> str:
    """``NVIDIA H200``, ``11.4.0.106`` -> ``nvidia-h200.trt11.4.0.106``: an engine only runs there."""
    slug = re.sub(r"[^a-z0-9]+", "-", gpu_name.lower()).strip("-") or "gpu"
    return f"{slug}.trt{trt_version}"


def engine_file_name(stem: str, gpu_name: str, trt_version: str) -> str:
    return f"{stem}.{device_key(gpu_name, trt_version)}.engine"


def parser_errors(parser: Any) -> list[str]:
    """The ONNX parser's errors, each with the node it stopped at."""
    found = []
    for i in range(parser.num_errors):
        error = parser.get_error(i)
        where = f"node {error.node()}" + (
            f" ({error.node_name()}, {error.node_operator()})" if error.node() >= 0 else ""
        )
        found.append(f"{error.desc()} at {where}")
    return found


def _network(trt: ModuleType, builder: Any) -> Any:
    major = int(str(trt.__version__).split(".")[0])
    if major >= 11:  # strongly typed is the only mode (the flag is deprecated and ignored)
        return builder.create_network()
    return builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))


def _use_timing_cache(config: Any, path: Path) -> bool:
    """Give ``config`` the timing cache at ``path`` (True), or a new one when there is none or
    TensorRT refuses it (another GPU or version, or corrupt: ``create_timing_cache`` returns None)."""
    cached = path.read_bytes() if path.is_file() else b""
    if cached:
        cache = config.create_timing_cache(cached)
        if cache is not None and config.set_timing_cache(cache, False):
            return True
        log.warning(
            "TensorRT refused the timing cache %s (another GPU or TensorRT version?): rebuilding it", path
        )
    fresh = config.create_timing_cache(b"")
    if fresh is None or not config.set_timing_cache(fresh, False):
        raise TailorgenError("TensorRT cannot create an empty timing cache", "see the TensorRT log above")
    return False


def build_engine(
    trt: ModuleType,
    onnx_path: Path,
    engine_path: Path,
    *,
    profile: BatchProfile,
    timing_cache: Path,
    workspace_bytes: int | None = None,
    tf32: bool = True,
) -> BuildResult:
    """Parse ``onnx_path``, build with ``profile`` over the batch axis, write the engine and the cache."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = _network(trt, builder)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        raise TailorgenError(
            f"TensorRT cannot parse {onnx_path}: "
            + "; ".join(parser_errors(parser) or ["no error reported"]),
            "the graph uses an operator or shape this TensorRT does not support",
        )
    if network.num_inputs != 1:
        raise TailorgenError(f"{onnx_path} has {network.num_inputs} inputs; a tailorgen classifier has one")
    tensor = network.get_input(0)
    shape = tuple(int(d) for d in tensor.shape)
    if any(d < 0 for d in shape[1:]):
        raise TailorgenError(f"{onnx_path}: only the batch axis may be dynamic (input shape {shape})")

    config = builder.create_builder_config()
    if workspace_bytes:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if not tf32 and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)  # exact fp32 maths (TF32 keeps ~10 mantissa bits)
    reused = _use_timing_cache(config, timing_cache)
    optimisation = builder.create_optimization_profile()
    dims = shape[1:]
    optimisation.set_shape(tensor.name, (profile.min, *dims), (profile.opt, *dims), (profile.max, *dims))
    if config.add_optimization_profile(optimisation) < 0:  # TensorRT returns -1 for an invalid profile
        raise TailorgenError(
            f"TensorRT refused the batch profile {profile.min}..{profile.max} for {onnx_path} (input {shape})",
            "check the tensorrt min_batch/opt_batch/max_batch options",
        )

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise TailorgenError(
            f"TensorRT could not build an engine from {onnx_path}", "see the TensorRT log above"
        )
    atomic_write_bytes(timing_cache, bytes(config.get_timing_cache().serialize()))
    atomic_write_bytes(engine_path, bytes(serialized))
    return BuildResult(engine_path, tensor.name, shape, timing_cache, reused)

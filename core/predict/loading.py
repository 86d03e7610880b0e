"""``MODEL`` -> predictor: a run directory, an exported file, a classifier directory or a Hub id.

What each backend loads:

============================  ====================  ======================  ==========================
MODEL                         torch                 onnx                    tensorrt
============================  ====================  ======================  ==========================
run directory                 ``classifier/``       ``export/model.onnx``   ``export/`` engine for this GPU
export directory              -                     ``model.onnx``          engine for this GPU
classifier directory          itself                -                       -
``.onnx`` / ``.engine`` file  -                     the .onnx file          the .engine file
Hub repo id                   from the Hub          -                       -
============================  ====================  ======================  ==========================

``auto`` picks the first backend with an entry in that order: torch, onnx, tensorrt.
"""

from __future__ import annotations

from pathlib import Path

from tailorgen.errors import TailorgenError
from tailorgen.hub.sources import looks_local, missing_local
from tailorgen.predict.base import BACKENDS, Predictor
from tailorgen.runtime.devices import DEFAULT_DEVICE

__all__ = ["load_predictor", "locate"]

_HINT = "MODEL is a run directory, an exported .onnx/.engine file, a classifier directory or a Hub repo id"


def _engine_in(export_dir: Path, device: int = 0) -> Path:
    from tailorgen.exporters.tensorrt import gpu_name
    from tailorgen.exporters.tensorrt_build import engine_file_name
    from tailorgen.predict.tensorrt_backend import require_tensorrt

    name = engine_file_name("model", gpu_name(device), require_tensorrt().__version__)
    if not (export_dir / name).is_file():
        found = ", ".join(sorted(p.name for p in export_dir.glob("*.engine"))) or "none"
        raise TailorgenError(
            f"{export_dir} has no engine for this GPU and TensorRT ({name}; found: {found})",
            'export one here: add [[exporters]] plugin = "tensorrt" and run --stages export',
        )
    return export_dir / name


def _candidates(path: Path) -> dict[str, Path]:
    """backend -> what it would load from the existing ``path`` (engines are looked up lazily)."""
    if path.is_file():
        return {{".onnx": "onnx", ".engine": "tensorrt"}.get(path.suffix, "none"): path}
    if (path / "config.json").is_file():
        return {"torch": path}
    found: dict[str, Path] = {}
    export = path / "export" if (path / "classifier").is_dir() or (path / "export").is_dir() else path
    if (path / "classifier").is_dir():
        found["torch"] = path / "classifier"
    if (export / "model.onnx").is_file():
        found["onnx"] = export / "model.onnx"
    if any(export.glob("*.engine")):
        found["tensorrt"] = export
    return found


def locate(model: str, backend: str = "auto", device: int = 0) -> tuple[str, str]:
    """(backend, what it loads) for ``model``; a string that is no path is taken as a Hub repo id.
    ``device``: the CUDA device whose engine a tensorrt backend looks for in an export directory."""
    if backend != "auto" and backend not in BACKENDS:
        raise TailorgenError(f"unknown backend {backend!r}", f"use one of auto, {', '.join(BACKENDS)}")
    path = Path(model).expanduser()
    if not path.exists():
        if looks_local(model):  # decided without the network
            raise missing_local(model, _HINT)
        if backend not in {"auto", "torch"}:
            raise TailorgenError(
                f"model {model} not found locally; the {backend} backend loads no Hub repo", _HINT
            )
        return "torch", model
    found = _candidates(path)
    if backend == "auto":
        backend = next((b for b in BACKENDS if b in found), "")
    if backend not in found:
        have = ", ".join(b for b in BACKENDS if b in found) or "none"
        which = f"the {backend} backend" if backend else "any backend"
        raise TailorgenError(f"model {model} holds nothing {which} can load (loadable by: {have})", _HINT)
    target = found[backend]
    return backend, str(_engine_in(target, device) if target.is_dir() and backend == "tensorrt" else target)


def load_predictor(
    model: str | Path,
    backend: str = "auto",
    *,
    provider: str = "cpu",
    device: str = DEFAULT_DEVICE,
    threads: int | None = None,
) -> Predictor:
    """A predictor for ``model``; ``provider`` picks onnxruntime's execution provider (cpu, cuda, tensorrt).

    ``device`` is torch's (``auto``, ``cpu``, ``cuda:1``...); TensorRT takes a CUDA device only
    (``auto`` and ``cuda`` are device 0, ``cuda:N`` device N).
    """
    trt_device = _cuda_index(device) if backend == "tensorrt" or str(model).endswith(".engine") else 0
    backend, target = locate(str(model), backend, trt_device)
    if backend == "torch":
        from tailorgen.predict.torch_backend import TorchPredictor

        return TorchPredictor.from_pretrained(target, _torch_device(device))
    if backend == "onnx":
        from tailorgen.predict.onnx_backend import open_onnx

        return open_onnx(target, provider=provider, threads=threads)
    from tailorgen.predict.tensorrt_backend import TensorRTPredictor

    return TensorRTPredictor(target, trt_device)


def _cuda_index(device: str) -> int:
    """``auto``/``cuda`` -> 0, ``cuda:N`` -> N; anything else is no device TensorRT can use."""
    kind, _, index = device.partition(":")
    if kind in {"auto", "cuda"} and (not index or index.isdigit()) and not (kind == "auto" and index):
        return int(index or 0)
    raise TailorgenError(
        f"the tensorrt backend runs on a CUDA device, not {device!r}", "use --device cuda or cuda:N"
    )


def _torch_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"

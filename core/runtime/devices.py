"""Device and dtype names in configs (``"auto"``, ``"cuda"``, ``"bf16"``...) -> torch objects."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tailorgen.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["DEFAULT_DEVICE", "DTYPE_NAMES", "resolve_device", "resolve_dtype"]

#: the device every entry point (the CLI, ``load_predictor``, ``run.device``) uses unless told
DEFAULT_DEVICE = "auto"

DTYPE_NAMES: dict[str, str] = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


def resolve_device(name: str = DEFAULT_DEVICE) -> torch.device:
    """``auto``: this process's GPU (``LOCAL_RANK`` under torchrun), else MPS, else CPU.

    A bare ``cuda`` also picks the process's own GPU, so one config works for 1 or N processes.
    """
    import torch

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}", "use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} requested but CUDA is not available", "use device = 'cpu'")
        if device.index is None:
            return torch.device("cuda", local_rank % torch.cuda.device_count())
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """``auto``: float16 on CUDA (what diffusion checkpoints are tuned for), float32 elsewhere."""
    import torch

    if name == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if name not in DTYPE_NAMES:
        raise ConfigError(f"unknown dtype {name!r}", f"use auto or one of {', '.join(DTYPE_NAMES)}")
    return getattr(torch, DTYPE_NAMES[name])

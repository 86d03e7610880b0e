"""Training checkpoints of the fine-tuning loop: encoder, optimizer, RNG and step, safetensors only.

A checkpoint is a folder ``step-N/`` holding ``text_encoder/`` (the generator's own save layout),
``optimizer.safetensors`` + ``state.json`` (step, optimizer hyper-parameters, a settings fingerprint)
and ``rng.safetensors``. It is written under a temporary name and renamed when complete, so a folder
named ``step-N`` is always whole.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from tailorgen.errors import TailorgenError
from tailorgen.io import atomic_write_json, partial_dir, replace_dir

__all__ = ["CheckpointStore"]

_NAME = re.compile(r"^step-(\d+)$")


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}/{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _restore_optimizer(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in [*tensors.items(), *meta["scalars"].items()]:
        index, key = name.split("/", 1)
        state.setdefault(int(index), {})[key] = value
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _rng_state() -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return state


def _restore_rng(state: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(state["cpu"])
    cuda = [state[k] for k in sorted(state) if k.startswith("cuda")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


class CheckpointStore:
    """The ``step-N`` checkpoints under one folder: save, find the latest, load, prune."""

    def __init__(self, root: Path, keep: int = 2) -> None:
        self.root = root
        self.keep = keep

    def steps(self) -> list[int]:
        if not self.root.is_dir():
            return []
        found = (_NAME.match(p.name) for p in self.root.iterdir() if (p / "state.json").is_file())
        return sorted(int(m.group(1)) for m in found if m)

    def path(self, step: int) -> Path:
        return self.root / f"step-{step}"

    def latest(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def save(
        self,
        step: int,
        save_encoder: Callable[[Path], Any],
        optimizer: torch.optim.Optimizer,
        extra: dict[str, Any],
    ) -> Path:
        target = self.path(step)
        tmp = partial_dir(target)
        save_encoder(tmp / "text_encoder")
        tensors, meta = _optimizer_tensors(optimizer)
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        save_file(_rng_state(), str(tmp / "rng.safetensors"))
        atomic_write_json(tmp / "state.json", {"step": step, "optimizer": meta, **extra})
        replace_dir(tmp, target)
        for old in self.steps()[: -self.keep] if self.keep > 0 else []:
            shutil.rmtree(self.path(old), ignore_errors=True)
        return target

    def load(self, step: int, encoder: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """Restore encoder weights, optimizer and RNG from ``step-N``; return its ``state.json``."""
        folder = self.path(step)
        try:
            state = json.loads((folder / "state.json").read_text())
            weights = load_file(str(folder / "text_encoder" / "model.safetensors"))
            encoder.load_state_dict(weights)
            _restore_optimizer(
                optimizer, load_file(str(folder / "optimizer.safetensors")), state["optimizer"]
            )
            _restore_rng(load_file(str(folder / "rng.safetensors")))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise TailorgenError(
                f"fine-tuning checkpoint {folder} cannot be loaded: {exc}",
                "delete that folder to resume from the one before it",
            ) from None
        return state

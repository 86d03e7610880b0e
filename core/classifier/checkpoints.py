"""Per-epoch training checkpoints: only what training changes (contexts, fusion head, momentum).

The frozen towers never change, so a checkpoint is a few MB even for RN50. Layout under ``root``:
``epoch-N/{trainable,momentum}.safetensors`` + ``state.json`` (written last: a folder without it is
incomplete), and ``best.safetensors`` (the trainable weights of the best validation epoch; ``best-gzsl`` beside
it when two selections are kept).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from tailorgen.errors import TailorgenError
from tailorgen.io import atomic_path, atomic_write_json

__all__ = ["TrainCheckpoints"]


def _trainable(model: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


def _save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))


class TrainCheckpoints:
    """Save and restore training state, refusing checkpoints written with other settings."""

    def __init__(self, root: Path, fingerprint: str, keep: int = 1) -> None:
        self.root = Path(root)
        self.fingerprint = fingerprint
        self.keep = keep

    def _epochs(self) -> list[int]:
        found = []
        for folder in self.root.glob("epoch-*"):
            if (folder / "state.json").is_file() and folder.name[6:].isdigit():
                found.append(int(folder.name[6:]))
        return sorted(found)

    def latest(self) -> int | None:
        epochs = self._epochs()
        return epochs[-1] if epochs else None

    def save(
        self, epoch: int, model: torch.nn.Module, optimizer: Any, scheduler: Any, state: dict[str, Any]
    ) -> None:
        folder = self.root / f"epoch-{epoch}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        params = _trainable(model)
        _save_tensors(folder / "trainable.safetensors", dict(params))
        names = {id(p): n for n, p in params.items()}
        momentum = {
            names[id(p)]: optimizer.state[p]["momentum_buffer"]
            for group in optimizer.param_groups
            for p in group["params"]
            if optimizer.state.get(p, {}).get("momentum_buffer") is not None
        }
        _save_tensors(folder / "momentum.safetensors", momentum)
        record = {
            "epoch": epoch,
            "fingerprint": self.fingerprint,
            "scheduler": scheduler.state_dict(),
            **state,
        }
        atomic_write_json(folder / "state.json", record)
        for old in self._epochs()[: -self.keep]:
            shutil.rmtree(self.root / f"epoch-{old}", ignore_errors=True)

    def _record(self, epoch: int) -> dict[str, Any]:
        record = json.loads((self.root / f"epoch-{epoch}" / "state.json").read_text())
        if record.get("fingerprint") != self.fingerprint:
            raise TailorgenError(
                f"checkpoints in {self.root} were written with other [train] settings or data",
                f"restore those settings, or delete {self.root.parent} to start training over",
            )
        return record

    def finished(self, epochs: int) -> bool:
        """Whether training with these settings already ran ``epochs`` epochs (other settings: an error)."""
        latest = self.latest()
        return latest is not None and self._record(latest)["epoch"] == epochs

    def load(self, model: torch.nn.Module, optimizer: Any, scheduler: Any) -> dict[str, Any] | None:
        """Restore the latest checkpoint into the given objects; its state dict, or None without one."""
        epoch = self.latest()
        if epoch is None:
            return None
        folder = self.root / f"epoch-{epoch}"
        record = self._record(epoch)
        self._load_trainable(model, folder / "trainable.safetensors")
        params = _trainable(model)
        device = next(iter(params.values())).device
        for name, buffer in load_file(str(folder / "momentum.safetensors")).items():
            optimizer.state[params[name]]["momentum_buffer"] = buffer.to(device)
        scheduler.load_state_dict(record["scheduler"])
        for group, lr in zip(optimizer.param_groups, scheduler.get_last_lr(), strict=True):
            group["lr"] = lr
        return record

    def save_best(self, model: torch.nn.Module, stem: str = "best") -> None:
        _save_tensors(self.root / f"{stem}.safetensors", dict(_trainable(model)))

    def load_best(self, model: torch.nn.Module, stem: str = "best") -> bool:
        path = self.root / f"{stem}.safetensors"
        if path.is_file():
            self._load_trainable(model, path)
        return path.is_file()

    @staticmethod
    def _load_trainable(model: torch.nn.Module, path: Path) -> None:
        params = _trainable(model)
        saved = load_file(str(path))
        if set(saved) != set(params):
            raise TailorgenError(f"checkpoint {path} does not match the model's trainable parameters")
        with torch.no_grad():
            for name, value in saved.items():
                params[name].copy_(value)

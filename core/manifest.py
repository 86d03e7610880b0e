"""``manifest.json``: versions, plugins, seeds, times and per-stage status of a run directory.

Only one process writes it: under torchrun the others open a manifest that keeps its data in memory.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.io import atomic_write_json

__all__ = ["Manifest", "now"]

_VERSIONED = (
    "tailorgen",
    "torch",
    "diffusers",
    "transformers",
    "open_clip_torch",
    "accelerate",
    "huggingface_hub",
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


class Manifest:
    """Rewritten atomically on every change so a killed run still says where it stopped."""

    def __init__(self, path: Path, data: dict[str, Any], *, writer: bool = True) -> None:
        self.path = path
        self.data = data
        self.writer = writer

    @classmethod
    def open(
        cls, run_dir: Path, *, seed: int, plugins: list[dict[str, Any]], writer: bool = True
    ) -> Manifest:
        """The run's manifest, updated for this run; ``writer=False`` (not rank 0) never touches the file."""
        path = run_dir / "manifest.json"
        data = _read(path) if writer and path.exists() else {}
        data.update(
            {
                "versions": {d: _version(d) for d in _VERSIONED} | {"python": platform.python_version()},
                "plugins": plugins,
                "seed": seed,
                "started": now(),
                "ended": None,
            }
        )
        data.setdefault("stages", {})
        manifest = cls(path, data, writer=writer)
        manifest.save()
        return manifest

    def save(self) -> None:
        if self.writer:
            atomic_write_json(self.path, self.data)

    def stage(self, name: str, status: str, **extra: Any) -> None:
        entry = self.data["stages"].setdefault(name, {})
        entry["status"] = status
        entry["started" if status == "running" else "ended"] = now()
        entry.update(extra)
        self.save()

    def finish(self) -> None:
        self.data["ended"] = now()
        self.save()


def _read(path: Path) -> dict[str, Any]:
    """The saved manifest; a damaged one (a full disk, a hand edit) is a one-line error, not a traceback."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = str(exc)
    else:
        if isinstance(data, dict) and isinstance(data.get("stages", {}), dict):
            return data
        problem = "not a manifest object"
    raise TailorgenError(
        f"run manifest {path} is unreadable ({problem})",
        f"delete {path}: the next run writes a fresh one and keeps every stage's outputs",
    )

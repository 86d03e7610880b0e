"""``manifest.json``: versions, plugins, seeds, times and per-stage status of a run directory."""

from __future__ import annotations

import importlib.metadata as md
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def open(cls, run_dir: Path, *, seed: int, plugins: list[dict[str, Any]]) -> Manifest:
        path = run_dir / "manifest.json"
        data: dict[str, Any] = {}
        if path.exists():
            import json

            data = json.loads(path.read_text())
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
        manifest = cls(path, data)
        manifest.save()
        return manifest

    def save(self) -> None:
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

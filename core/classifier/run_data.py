"""The image sets a training run reads: configured ``[datasets.<key>]`` entries or its own synthetic/."""

from __future__ import annotations

from typing import Any

from tailorgen.config import PluginSpec
from tailorgen.context import RunContext
from tailorgen.errors import ConfigError, TailorgenError

__all__ = ["dataset_spec", "load_split"]


def dataset_spec(ctx: RunContext, key: str, what: str) -> PluginSpec:
    """The ``[datasets.<key>]`` section that setting ``train.<what>`` names."""
    spec = ctx.config.datasets.get(key)
    if spec is None:
        have = ", ".join(ctx.config.datasets) or "none"
        raise ConfigError(
            f"{ctx.config.where(f'train.{what}')}: train.{what} = {key!r} has no [datasets.{key}] section",
            f"data sets configured: {have}",
        )
    return spec


def load_split(ctx: RunContext, key: str | None, split: str, names: list[str], what: str) -> Any:
    """A split with targets over ``names``; ``key`` None means this run's synthetic/ (imagefolder)."""
    if key is None:
        root = ctx.path("synthetic")
        if not (root / "metadata.jsonl").is_file():
            raise TailorgenError(f"no synthetic data set at {root}", "run the generate stage first")
        dataset = ctx.registry.create("dataset", "imagefolder", {"root": root})
    else:
        dataset = ctx.create("dataset", f"datasets.{key}", dataset_spec(ctx, key, what))
    return dataset.load(split, names, ctx.labels)

"""Stage ``publish``: share the run's classifier (and optionally its data set and text encoder) on the Hub.

The repos come from ``[publish]``; the token from the standard login or ``HF_TOKEN``. ``validate``
checks the repo ids and the token before any stage runs, so a run that would fail to publish fails
before hours of generation and training, not after. Writes ``publish.json`` (repo ids, commits).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.context import RunContext
from tailorgen.errors import ConfigError
from tailorgen.io import atomic_write_json

__all__ = ["Settings", "plan", "run", "validate"]


class Settings(BaseModel):
    """``[publish]``: where the run goes on the Hugging Face Hub."""

    model_config = ConfigDict(extra="forbid")

    repo_id: str | None = Field(None, description="Model repo, USER/NAME (needed to run this stage).")
    private: bool = Field(False, description="Create new repos as private.")
    include_onnx: bool = Field(False, description="Also upload export/model.onnx (needs the export stage).")
    dataset_repo_id: str | None = Field(
        None, description="Also push the synthetic data set to this dataset repo."
    )
    include_rejected: bool = Field(False, description="Data set: also push images the filter rejected.")
    parquet_threshold: int = Field(
        2000, ge=1, description="Data sets above this many images go up as Parquet."
    )
    parquet_shard_size: int = Field(1000, ge=1, description="Images per Parquet shard.")
    text_encoder_repo_id: str | None = Field(
        None, description="Also push the fine-tuned diffusion text encoder (diffusers layout) to this repo."
    )
    revision: str | None = Field(None, description="Branch to commit to (created if missing; default main).")
    commit_message: str | None = Field(None, description="Commit message (default names the run).")


def _settings(ctx: RunContext) -> Settings:
    settings: Settings = ctx.settings("publish", Settings)
    if not settings.repo_id:
        raise ConfigError(f"config {ctx.config.path}: [publish] has no repo_id", 'add repo_id = "USER/NAME"')
    return settings


def validate(ctx: RunContext) -> None:
    from tailorgen.hub import check_repo_id
    from tailorgen.hub.auth import require_token

    settings = _settings(ctx)
    for option in ("repo_id", "dataset_repo_id", "text_encoder_repo_id"):
        if (value := getattr(settings, option)) is not None:
            check_repo_id(value, f"[publish] {option}")
    require_token("publish")


def plan(ctx: RunContext) -> dict[str, Any]:
    return _settings(ctx).model_dump(exclude_none=True)


def run(ctx: RunContext) -> dict[str, Any]:
    from tailorgen.hub import publish

    settings = _settings(ctx).model_dump()
    result = publish(ctx.run_dir, settings.pop("repo_id"), **settings)
    atomic_write_json(ctx.path("publish.json"), result)
    return {part: {"repo_id": info["repo_id"], "commit": info["commit"]} for part, info in result.items()}

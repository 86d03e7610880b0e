"""Publish a finished run: the classifier (+ card), and optionally its data set and text encoder.

Order of work: check the token and every input, stage every repo (so a broken data set fails before
anything is uploaded), then upload the text encoder and data set, and the model last (its card links
to both).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.hub.auth import require_token
from tailorgen.hub.dataset_repo import stage_dataset
from tailorgen.hub.model_repo import stage_model
from tailorgen.hub.run_facts import read_run
from tailorgen.hub.text_encoder_repo import stage_text_encoder
from tailorgen.hub.upload import push_folder

__all__ = ["check_repo_id", "publish"]


def _staging(run_dir: Path) -> tempfile.TemporaryDirectory[str]:
    """A scratch folder inside the run (same file system: files are hard-linked, not copied), else in /tmp."""
    try:
        return tempfile.TemporaryDirectory(prefix=".publish-", dir=run_dir)
    except OSError:  # a read-only run directory
        return tempfile.TemporaryDirectory(prefix="tailorgen-publish-")


def check_repo_id(repo_id: str, option: str = "--repo-id") -> str:
    """``USER/NAME`` as the Hub accepts it, else a one-line error naming the option."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise TailorgenError(
            f"{option} {repo_id!r} is not a valid repo id: {exc}", "write it as USER/NAME"
        ) from None
    if repo_id.count("/") != 1:
        raise TailorgenError(f"{option} {repo_id!r} needs a namespace", "write it as USER/NAME")
    return repo_id


def publish(
    run_dir: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    include_onnx: bool = False,
    dataset_repo_id: str | None = None,
    text_encoder_repo_id: str | None = None,
    include_rejected: bool = False,
    parquet_threshold: int = 2000,
    parquet_shard_size: int = 1000,
    revision: str | None = None,
    commit_message: str | None = None,
) -> dict[str, Any]:
    """Upload the run's classifier to ``repo_id``; returns what went where (repo ids, commit shas)."""
    check_repo_id(repo_id)
    for option, other in (
        ("--dataset-repo-id", dataset_repo_id),
        ("--text-encoder-repo-id", text_encoder_repo_id),
    ):
        if other is not None:
            check_repo_id(other, option)
    token = require_token("publish")
    facts = read_run(run_dir)
    message = commit_message or f"Publish tailorgen classifier from run {facts.run_dir.name}"
    result: dict[str, Any] = {}
    with _staging(facts.run_dir) as tmp:
        staged = {name: Path(tmp) / name for name in ("model", "dataset", "text_encoder")}
        if text_encoder_repo_id:
            stage_text_encoder(facts, staged["text_encoder"], text_encoder_repo_id)
        if dataset_repo_id:
            shape = stage_dataset(
                facts,
                staged["dataset"],
                dataset_repo_id,
                model_repo=repo_id,
                include_rejected=include_rejected,
                parquet_threshold=parquet_threshold,
                shard_size=parquet_shard_size,
            )
        files = stage_model(
            facts,
            staged["model"],
            repo_id,
            include_onnx=include_onnx,
            dataset_repo=dataset_repo_id,
            text_encoder_repo=text_encoder_repo_id,
        )
        common = {"token": token, "private": private, "revision": revision, "commit_message": message}
        if text_encoder_repo_id:
            result["text_encoder"] = push_folder(staged["text_encoder"], text_encoder_repo_id, **common)
        if dataset_repo_id:
            result["dataset"] = push_folder(staged["dataset"], dataset_repo_id, repo_type="dataset", **common)
            result["dataset"].update(shape)
        result["model"] = push_folder(staged["model"], repo_id, **common) | {"files": files}
    return result

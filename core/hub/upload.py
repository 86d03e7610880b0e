"""Push one staged folder to one Hub repo: create it if needed, then mirror the folder in one commit."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from tailorgen.hub.auth import hub_call
from tailorgen.runtime.progress import is_quiet

__all__ = ["link_or_copy", "push_folder"]

logger = logging.getLogger(__name__)


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (instant for big weights and thousands of images), else copy."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def push_folder(
    folder: Path,
    repo_id: str,
    *,
    token: str,
    repo_type: str = "model",
    private: bool = False,
    revision: str | None = None,
    commit_message: str,
    space_sdk: str | None = None,
) -> dict[str, Any]:
    """Upload ``folder`` as the whole content of ``repo_id`` (files not in it are deleted, but .gitattributes)."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils import disable_progress_bars

    if is_quiet():
        disable_progress_bars()
    api = HfApi(token=token)
    kind = "" if repo_type == "model" else f"{repo_type} "
    with hub_call(f"create {kind}repo {repo_id}", token):
        url = api.create_repo(
            repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=space_sdk
        )
        if revision not in {None, "main"}:
            api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
    logger.info(f"[tailorgen] uploading {sum(1 for p in folder.rglob('*') if p.is_file())} files to {url}")
    with hub_call(f"upload to {kind}repo {repo_id}", token):
        info = api.upload_folder(
            folder_path=folder,
            repo_id=repo_id,
            repo_type=repo_type,
            revision=revision,
            commit_message=commit_message,
            delete_patterns="*",
        )
    return {
        "repo_id": repo_id,
        "repo_type": repo_type,
        "url": str(url),
        "revision": revision or "main",
        "commit": info.oid,
        "commit_url": info.commit_url,
    }

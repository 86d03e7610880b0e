"""``tailorgen publish RUN --repo-id USER/NAME --space``: the run's Gradio Space, uploaded as a Space repo."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

__all__ = ["publish_space"]


def publish_space(
    model: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """Write the Space for ``model`` (see :func:`~tailorgen.space.write_space`) and push it to ``repo_id``."""
    from tailorgen.hub.auth import require_token
    from tailorgen.hub.publish import check_repo_id
    from tailorgen.hub.upload import push_folder
    from tailorgen.space.writer import write_space

    check_repo_id(repo_id, "--space repo")
    token = require_token("publish the Space")
    with tempfile.TemporaryDirectory(prefix="tailorgen-space-") as tmp:
        folder = write_space(model, Path(tmp) / "space", title=title or repo_id.split("/")[1])
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        result = push_folder(
            folder,
            repo_id,
            token=token,
            repo_type="space",
            space_sdk="gradio",
            private=private,
            revision=revision,
            commit_message=commit_message or f"Space for the tailorgen classifier {Path(model).name}",
        )
    return result | {"files": files}

"""JSON bodies the loopback Hub answers with, in the shapes ``huggingface_hub`` parses.

Repo info (``ModelInfo``/``DatasetInfo``), tree and paths-info entries (``RepoFile``/``RepoFolder``),
and the tags the Hub derives from a model card's metadata (library, datasets, base model, ...).
"""

from __future__ import annotations

import hashlib
from typing import Any

from tailorgen.testing.hub_store import Commit, Repo, card_metadata, git_blob_oid

__all__ = ["card_tags", "paths_info", "repo_info", "tree_entries"]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def card_tags(meta: dict[str, Any]) -> list[str]:
    """Card tags plus what the Hub adds to them (library, pipeline, ``dataset:``, ``base_model:``, licence)."""
    tags = _as_list(meta.get("tags"))
    tags += _as_list(meta.get("library_name")) + _as_list(meta.get("pipeline_tag"))
    tags += [f"dataset:{d}" for d in _as_list(meta.get("datasets"))]
    tags += [f"base_model:{b}" for b in _as_list(meta.get("base_model"))]
    tags += [f"license:{x}" for x in _as_list(meta.get("license"))]
    return list(dict.fromkeys(tags))


def repo_info(
    repo: Repo, commit: Commit, *, card: bool = True, siblings: bool = True, blobs: bool = False
) -> dict:
    meta = card_metadata(commit.files.get("README.md"))
    info: dict[str, Any] = {
        "_id": hashlib.sha1(f"{repo.repo_type}/{repo.repo_id}".encode()).hexdigest()[:24],
        "id": repo.repo_id,
        "author": repo.author,
        "sha": commit.oid,
        "private": repo.private,
        "gated": False,
        "disabled": False,
        "lastModified": commit.date,
        "createdAt": repo.created_at,
        "likes": 0,
        "downloads": 0,
        "tags": card_tags(meta),
    }
    if repo.repo_type == "model":
        info["library_name"] = meta.get("library_name")
        info["pipeline_tag"] = meta.get("pipeline_tag")
    if card:
        info["cardData"] = meta
    if siblings:
        info["siblings"] = [
            {"rfilename": p, **({"size": len(d), "blobId": git_blob_oid(d)} if blobs else {})}
            for p, d in sorted(commit.files.items())
        ]
    return info


def _file(path: str, data: bytes) -> dict[str, Any]:
    return {"type": "file", "oid": git_blob_oid(data), "size": len(data), "path": path}


def _folder(path: str) -> dict[str, Any]:
    return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}


def _folders(files: dict[str, bytes]) -> set[str]:
    return {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}


def tree_entries(commit: Commit, path: str, recursive: bool) -> list[dict[str, Any]] | None:
    """Entries under ``path`` (``None`` when it is not a folder of this commit)."""
    prefix = path.strip("/") + "/" if path.strip("/") else ""
    folders = _folders(commit.files)
    if prefix and prefix[:-1] not in folders:
        return None

    def wanted(p: str) -> bool:
        return p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])

    entries = [_folder(p) for p in sorted(folders) if wanted(p)]
    return entries + [_file(p, d) for p, d in sorted(commit.files.items()) if wanted(p)]


def paths_info(commit: Commit, paths: list[str]) -> list[dict[str, Any]]:
    folders = _folders(commit.files)
    out = []
    for raw in paths:
        path = raw.strip("/")
        if path in commit.files:
            out.append(_file(path, commit.files[path]))
        elif path in folders:
            out.append(_folder(path))
    return out

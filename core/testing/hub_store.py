"""In-memory storage behind the loopback Hub server: repos, branches, commits and file blobs.

Kept apart from the HTTP layer so the server module is only routing. Object ids follow git's
conventions where the client compares them: a file's oid is its git blob sha1 (what the client
computes for "regular" uploads to skip unchanged files), a commit id is 40 hex digits.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

__all__ = ["Commit", "HubError", "HubStore", "Repo", "card_metadata", "git_blob_oid"]

#: what the real Hub writes as a new repo's first file
GITATTRIBUTES = (
    b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.onnx filter=lfs diff=lfs merge=lfs -text\n"
)


class HubError(Exception):
    """An HTTP error answer: status, the Hub's ``X-Error-Code`` and a message."""

    def __init__(
        self, status: int, message: str, code: str | None = None, commit: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.extra = extra
        self.status = status
        self.code = code
        self.message = message
        self.commit = commit


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def card_metadata(readme: bytes | None) -> dict[str, Any]:
    """The YAML front matter of a README.md (the Hub's ``cardData``); ``{}`` when absent or broken."""
    if not readme:
        return {}
    text = readme.decode("utf-8", errors="replace").replace("\r\n", "\n")
    if not text.startswith("---\n"):
        return {}
    head, sep, _ = text[4:].partition("\n---")
    if not sep:
        return {}
    try:
        data = yaml.safe_load(head)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Commit:
    oid: str
    parent: str | None
    files: dict[str, bytes]
    summary: str
    date: str


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str = field(default_factory=_now)
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    @property
    def author(self) -> str:
        return self.repo_id.split("/")[0]

    def resolve(self, revision: str) -> Commit:
        oid = self.branches.get(revision, revision)
        if oid not in self.commits:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return self.commits[oid]

    def commit(
        self,
        branch: str,
        *,
        put: dict[str, bytes],
        delete: list[str],
        summary: str,
        parent: str | None = None,
    ) -> Commit:
        head = self.branches.get(branch)
        if head is None and self.commits:
            raise HubError(404, f"Invalid rev id: {branch} (commits go to a branch)", "RevisionNotFound")
        if parent is not None and head is not None and not head.startswith(parent):
            raise HubError(412, f"Parent commit {parent} is not the head of {branch} ({head})")
        files = dict(self.commits[head].files) if head else {}
        for path in delete:
            prefix = path.rstrip("/") + "/"
            removed = [p for p in files if p == path or p.startswith(prefix)]
            if not removed:
                raise HubError(404, f"File not found: {path}", "EntryNotFound")
            for p in removed:
                del files[p]
        files.update(put)
        seed = f"{head}\n{summary}\n{len(self.commits)}\n" + "\n".join(
            f"{p} {git_blob_oid(d)}" for p, d in sorted(files.items())
        )
        new = Commit(hashlib.sha1(seed.encode()).hexdigest(), head, files, summary, _now())
        self.commits[new.oid] = new
        self.branches[branch] = new.oid
        return new


class HubStore:
    """All repos of one server, guarded by one lock (requests arrive on many threads)."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = dict(tokens)
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lock = threading.RLock()

    def user(self, token: str | None) -> str | None:
        return self.tokens.get(token) if token else None

    def get(self, repo_type: str, repo_id: str, user: str | None) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and user != repo.author):
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    def create(self, repo_type: str, repo_id: str, user: str, private: bool) -> Repo:
        if repo_id.split("/", maxsplit=1)[0] != user:
            raise HubError(403, f"You don't have the rights to create a repo under the namespace {repo_id!r}")
        if (repo_type, repo_id) in self.repos:
            raise HubError(409, f"You already created this {repo_type} repo")
        repo = Repo(repo_type, repo_id, private)
        repo.commit("main", put={".gitattributes": GITATTRIBUTES}, delete=[], summary="initial commit")
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def writable(self, repo_type: str, repo_id: str, user: str | None) -> Repo:
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        repo = self.get(repo_type, repo_id, user)
        if repo.author != user:
            raise HubError(403, f"You don't have the rights to write to {repo_id}")
        return repo

    def listing(self, repo_type: str, user: str | None) -> list[Repo]:
        return [
            r
            for (t, _), r in sorted(self.repos.items())
            if t == repo_type and (not r.private or r.author == user)
        ]

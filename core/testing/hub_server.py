"""A small Hugging Face Hub on loopback, for tests that drive the real ``huggingface_hub`` client over HTTP.

It implements only what publishing and downloading use, in the real API's shapes: repo creation
and deletion, branches, ``whoami``, README metadata validation, the pre-upload check (it answers "regular"
for every file, so the client sends contents base64-encoded in the NDJSON commit and never tries
LFS or Xet), commits (regular files, deletions), repo info per revision, model/dataset listing
with ``search``/``filter``/``author``, tree and paths-info listings, and file resolve (HEAD and
GET with ``ETag``, ``X-Repo-Commit``, ``Content-Length`` and ranges). Storage is in memory.

    with HubServer(tokens={"hf_test": "alice"}) as hub, hub.client_env(token="hf_test"):
        HfApi().create_repo("alice/x")

``client_env`` points this process's ``huggingface_hub`` at the server (it reads ``HF_ENDPOINT``
at import time) and clears offline mode; ``hub.env(token)`` gives the variables for a subprocess.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tailorgen.testing.hub_shapes import paths_info, repo_info, tree_entries
from tailorgen.testing.hub_store import HubError, HubStore, Repo, git_blob_oid

__all__ = ["HubServer"]

_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_API_REPO = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)(?:/(\w[\w-]*)(?:/([^/]+)(/.*)?)?)?$")
_RESOLVE = re.compile(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    # -- plumbing -----------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the test reads ``HubServer.requests`` instead (and headers are never logged)."""

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        if token is not None and self.server.store.user(token) is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        return self.server.store.user(token)

    def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool = False) -> None:
        self.send_response(status)
        for key, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json"})

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.server.requests.append((method, unquote(url.path)))
        body = self._body() if method in {"POST", "PUT", "DELETE"} else b""
        try:
            with self.server.store.lock:
                self._route(method, url.path, parse_qs(url.query), body)
        except HubError as err:
            headers = {"Content-Type": "application/json", "X-Error-Message": err.message}
            if err.code:
                headers["X-Error-Code"] = err.code
            if err.commit:
                headers["X-Repo-Commit"] = err.commit
            self._send(
                err.status,
                json.dumps({"error": err.message, **err.extra}).encode(),
                headers,
                head=method == "HEAD",
            )

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- routes -------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        store = self.server.store
        if method in {"GET", "HEAD"} and (m := _RESOLVE.match(path)):
            repo_type = _TYPES.get(f"{m[1]}", "model") if m[1] else "model"
            return self._resolve(
                store.get(repo_type, m[2], self._user()), unquote(m[3]), unquote(m[4]), method
            )
        if method == "GET" and path == "/api/whoami-v2":
            if (user := self._user()) is None:
                raise HubError(401, "Invalid credentials in Authorization header")
            return self._json(
                {"type": "user", "name": user, "orgs": [], "auth": {"accessToken": {"role": "write"}}}
            )
        if method == "POST" and path == "/api/validate-yaml":
            return self._json({"errors": [], "warnings": []})
        if path in {"/api/repos/create", "/api/repos/delete"} and method in {"POST", "DELETE"}:
            return self._create_or_delete(path.endswith("create"), json.loads(body or b"{}"))
        if method == "GET" and path.removeprefix("/api/") in _TYPES:
            return self._list(_TYPES[path.removeprefix("/api/")], query)
        if m := _API_REPO.match(path):
            return self._repo_api(
                method,
                _TYPES[m[1]],
                repo_id=m[2],
                action=m[3],
                rev=unquote(m[4] or "main"),
                rest=m[5],
                query=query,
                body=body,
            )
        raise HubError(404, f"Not found: {method} {path}")

    def _create_or_delete(self, create: bool, payload: dict[str, Any]) -> None:
        user = self._user()
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or user}/{payload['name']}"
        store = self.server.store
        if not create:
            store.repos.pop((store.writable(repo_type, repo_id, user).repo_type, repo_id))
            return self._json({})
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        url = f"{self.server.url}/{'' if repo_type == 'model' else f'{repo_type}s/'}{repo_id}"
        try:
            store.create(repo_type, repo_id, user, private)
        except HubError as err:
            err.extra["url"] = url  # the client reads it from a 409 answer too
            raise
        return self._json({"url": url, "name": repo_id, "id": repo_id})

    def _list(self, repo_type: str, query: dict[str, list[str]]) -> None:
        search = (query.get("search") or [""])[0].lower()
        wanted = set(query.get("filter", []))
        author = (query.get("author") or [None])[0]
        full = "cardData" in query or "full" in query
        out = []
        for repo in self.server.store.listing(repo_type, self._user()):
            commit = repo.resolve("main")
            info = repo_info(repo, commit, card=full, siblings="full" in query)
            if (
                search in repo.repo_id.lower()
                and wanted <= set(info["tags"])
                and author in {None, repo.author}
            ):
                out.append(info)
        self._json(out[: int(query["limit"][0])] if "limit" in query else out)

    def _repo_api(
        self,
        method: str,
        repo_type: str,
        *,
        repo_id: str,
        action: str | None,
        rev: str,
        rest: str | None,
        query: dict[str, list[str]],
        body: bytes,
    ) -> None:
        store = self.server.store
        user = self._user()
        if method == "GET" and action in {None, "revision"}:
            repo = store.get(repo_type, repo_id, user)
            return self._json(repo_info(repo, repo.resolve(rev), blobs="blobs" in query))
        if method == "GET" and action == "tree":
            commit = store.get(repo_type, repo_id, user).resolve(rev)
            entries = tree_entries(
                commit, unquote(rest or ""), (query.get("recursive") or ["False"])[0] == "True"
            )
            if entries is None:
                raise HubError(404, f"Entry not found: {unquote(rest or '')}", "EntryNotFound", commit.oid)
            return self._json(entries)
        if method == "POST" and action == "paths-info":
            form = parse_qs(body.decode())
            return self._json(
                paths_info(store.get(repo_type, repo_id, user).resolve(rev), form.get("paths", []))
            )
        if method == "POST" and action == "preupload":
            return self._preupload(store.writable(repo_type, repo_id, user), rev, json.loads(body))
        if method == "POST" and action == "commit":
            return self._commit(store.writable(repo_type, repo_id, user), rev, body)
        if method == "POST" and action == "branch":
            repo = store.writable(repo_type, repo_id, user)
            if rev in repo.branches:
                raise HubError(409, f"Reference already exists: {rev}")
            start = (json.loads(body or b"{}").get("startingPoint")) or "main"
            repo.branches[rev] = repo.resolve(start).oid
            return self._json({})
        raise HubError(404, f"Not found: {method} /api/{repo_type}s/{repo_id}/{action}")

    def _preupload(self, repo: Repo, rev: str, payload: dict[str, Any]) -> None:
        files = repo.resolve(rev).files
        self._json(
            {
                "files": [
                    {
                        "path": f["path"],
                        "uploadMode": "regular",  # this server stores everything in git: no LFS, no Xet
                        "shouldIgnore": False,
                        "oid": git_blob_oid(files[f["path"]]) if f["path"] in files else None,
                    }
                    for f in payload.get("files", [])
                ],
                "commitOid": repo.resolve(rev).oid,
            }
        )

    def _commit(self, repo: Repo, rev: str, body: bytes) -> None:
        put: dict[str, bytes] = {}
        delete: list[str] = []
        header: dict[str, Any] = {}
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                header = value
            elif key == "file":
                put[value["path"]] = base64.b64decode(value["content"])
            elif key in {"deletedFile", "deletedFolder"}:
                delete.append(value["path"])
            else:  # lfsFile: never asked for, since preupload answers "regular"
                raise HubError(400, f"This test Hub stores regular files only; got {key!r}")
        commit = repo.commit(
            rev, put=put, delete=delete, summary=header.get("summary", ""), parent=header.get("parentCommit")
        )
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        self._json(
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{self.server.url}/{prefix}{repo.repo_id}/commit/{commit.oid}",
                "pullRequestUrl": None,
            }
        )

    def _resolve(self, repo: Repo, rev: str, filename: str, method: str) -> None:
        commit = repo.resolve(rev)
        data = commit.files.get(filename)
        if data is None:
            raise HubError(404, f"Entry not found: {filename}", "EntryNotFound", commit.oid)
        headers = {
            "Content-Type": "application/octet-stream",
            "ETag": f'"{git_blob_oid(data)}"',
            "X-Repo-Commit": commit.oid,
            "Accept-Ranges": "bytes",
        }
        status = 200
        if m := re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", "")):
            start, end = int(m[1]), int(m[2] or len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{min(end, len(data) - 1)}/{len(data)}"
            data, status = data[start : end + 1], 206
        self._send(status, data, headers, head=method == "HEAD")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    store: HubStore
    requests: list[tuple[str, str]]
    url: str


class HubServer:
    """The loopback Hub: ``start()``/``stop()`` or a ``with`` block; ``url``; ``requests`` it received."""

    def __init__(self, tokens: dict[str, str] | None = None, home: str | Path | None = None) -> None:
        self.store = HubStore(tokens if tokens is not None else {"hf_test_token": "tester"})
        #: the clients' HF_HOME (cache, token file); keep it in a temp dir so tests never see a real login
        self.home = Path(home) if home is not None else Path(tempfile.mkdtemp(prefix="loopback-hub-"))
        self.home.mkdir(parents=True, exist_ok=True)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return self._server.url

    @property
    def requests(self) -> list[tuple[str, str]]:
        return self._server.requests if self._server else []

    def start(self) -> HubServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.store, server.requests = self.store, []
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="loopback-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def env(self, token: str | None = None, home: Path | None = None) -> dict[str, str]:
        """Variables that point a subprocess's ``huggingface_hub`` (and ``datasets``) at this server."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN"}
        }
        env |= {"HF_ENDPOINT": self.url, "HF_HOME": str(home or self.home), "HF_HUB_DISABLE_TELEMETRY": "1"}
        if token is not None:
            env["HF_TOKEN"] = token
        return env

    @contextlib.contextmanager
    def client_env(self, token: str | None = None, home: Path | None = None) -> Iterator[None]:
        """Point this process's ``huggingface_hub`` at the server for the block (constants are import-time).

        ``home`` replaces the HF_HOME (cache, login) for the block: another user on another machine.
        """
        from huggingface_hub import constants

        hf_home = Path(home) if home is not None else self.home
        patched = {
            "ENDPOINT": self.url,
            "HUGGINGFACE_CO_URL_TEMPLATE": self.url + "/{repo_id}/resolve/{revision}/{filename}",
            "HF_URL_HOSTS": constants.HF_URL_HOSTS | {"127.0.0.1"},
            "HF_HUB_OFFLINE": False,
            "HF_HUB_CACHE": str(hf_home / "hub"),
            "HF_TOKEN_PATH": str(hf_home / "token"),
            "HF_STORED_TOKENS_PATH": str(hf_home / "stored_tokens"),
        }
        saved_constants = {k: getattr(constants, k) for k in patched}
        saved_env = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env(token, hf_home))
        for key, value in patched.items():
            setattr(constants, key, value)
        try:
            yield
        finally:
            for key, value in saved_constants.items():
                setattr(constants, key, value)
            os.environ.clear()
            os.environ.update(saved_env)

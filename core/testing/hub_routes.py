"""HTTP routes of the loopback Hub (see :mod:`tailorgen.testing.hub_server`): one handler per request.

Errors answer like the Hub: a status, ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``,
``EntryNotFound``) and ``X-Error-Message``, which the client turns into its own exception types.
"""

from __future__ import annotations

import base64
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tailorgen.testing.hub_shapes import paths_info, repo_info, tree_entries
from tailorgen.testing.hub_store import HubError, HubStore, Repo, git_blob_oid

__all__ = ["HubHTTPServer", "HubRequestHandler"]

_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_API_REPO = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)(?:/(\w[\w-]*)(?:/([^/]+)(/.*)?)?)?$")
_RESOLVE = re.compile(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


class HubRequestHandler(BaseHTTPRequestHandler):
    """Routes one request to the store; HTTP/1.1 keep-alive, as the client's connection pool expects."""

    protocol_version = "HTTP/1.1"
    server: HubHTTPServer

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


class HubHTTPServer(ThreadingHTTPServer):
    """The stdlib threaded server plus the store, the request log and its own URL."""

    daemon_threads = True
    store: HubStore
    requests: list[tuple[str, str]]
    url: str

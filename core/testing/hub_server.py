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

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from tailorgen.testing.hub_routes import HubHTTPServer, HubRequestHandler
from tailorgen.testing.hub_store import HubStore

__all__ = ["HubServer"]


class HubServer:
    """The loopback Hub: ``start()``/``stop()`` or a ``with`` block; ``url``; ``requests`` it received."""

    def __init__(self, tokens: dict[str, str] | None = None, home: str | Path | None = None) -> None:
        self.store = HubStore(tokens if tokens is not None else {"hf_test_token": "tester"})
        #: the clients' HF_HOME (cache, token file); keep it in a temp dir so tests never see a real login
        self.home = Path(home) if home is not None else Path(tempfile.mkdtemp(prefix="loopback-hub-"))
        self.home.mkdir(parents=True, exist_ok=True)
        self._server: HubHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return self._server.url

    @property
    def requests(self) -> list[tuple[str, str]]:
        return self._server.requests if self._server else []

    def start(self) -> HubServer:
        server = HubHTTPServer(("127.0.0.1", 0), HubRequestHandler)
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

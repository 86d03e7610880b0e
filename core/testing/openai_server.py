"""An OpenAI-compatible chat server on loopback, for testing prompt writers that talk HTTP.

``POST /v1/chat/completions`` answers in the API's shape with text from ``reply(body)``; by default
:func:`scene_reply`, which reads the keywords of the ``painter`` dialog (``"a cat" and "a dog"``) and
writes the asked number of phrases around them, seeded by the request's ``seed`` (so the same request
gets the same reply). Faults are injected in arrival order and the server can hold replies back, so
a test can exercise retries and kill a client mid-run:

    with OpenAIServer(faults=["429", "drop"]) as server:
        ...  # options = {base_url = server.url}: the first request gets a 429, the second a dropped connection
        server.hold_after(4)  # requests after the 4th received wait until server.release()

Faults: ``"429"`` (with ``Retry-After: 0``), ``"429-date"`` (``Retry-After`` as an HTTP date
:data:`RETRY_AFTER_S` seconds ahead), any other status code as a string (``"500"``, ``"503"``),
``"drop"`` (the connection closes without a reply), ``"malformed"`` (a 200 whose body is not JSON),
``"truncated"`` (a 200 whose JSON stops half-way, as a proxy that cut it would send) and
``"length"`` (a 200 stopped by the token limit: ``finish_reason = "length"``, last line cut). ``requests`` records every body received and
whether it carried the expected key (the key itself is not kept).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["RETRY_AFTER_S", "OpenAIServer", "keywords_of", "scene_reply"]

#: how far ahead the ``"429-date"`` fault's Retry-After date lies
RETRY_AFTER_S = 3

Reply = Callable[[dict[str, Any]], str]

_KEYWORD = re.compile(r'"an? ([^"]+)"')
_COUNT = re.compile(r"\b(\d+) different\b")
_MOODS = ["quiet", "busy", "sunny", "foggy", "snowy", "rainy", "golden", "windy", "crowded", "empty"]
_PLACES = ["kitchen", "park", "harbour", "street", "garden", "station", "beach", "market", "forest", "attic"]
_TIMES = ["at dawn", "at noon", "at dusk", "at night", "in spring", "in autumn", "in winter", "after rain"]
_ACTS = ["resting", "waiting", "standing", "sitting", "lying", "posing", "glowing", "sleeping", "hiding"]
_STYLES = ["photo", "painting", "sketch", "snapshot", "watercolour", "film still", "drawing", "poster"]


def keywords_of(body: dict[str, Any]) -> list[str]:
    """The quoted keywords of the last user message (``"a cat"`` -> ``cat``)."""
    users = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
    return _KEYWORD.findall(users[-1]) if users else []


def scene_reply(body: dict[str, Any]) -> str:
    """A chat-style reply: a preamble, then numbered phrases that mention every keyword."""
    users = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
    found = _COUNT.search(users[-1]) if users else None
    count = int(found.group(1)) if found else 10
    rng = random.Random(json.dumps([body.get("seed"), body.get("messages")], sort_keys=True))
    things = " next to ".join(f"a {word}" for word in keywords_of(body)) or "an empty room"
    lines = [f"Sure! Here are {count} phrases:", ""]
    for number in range(1, count + 1):
        mood, place, time, act, style = (
            rng.choice(words) for words in (_MOODS, _PLACES, _TIMES, _ACTS, _STYLES)
        )
        lines.append(f"{number}. A {style} of {things} {act} in a {mood} {place} {time}")
    return "\n".join(lines)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent (headers, keys included, are never logged): tests read ``OpenAIServer.requests``."""

    def _send_json(
        self, status: int, payload: dict[str, Any] | bytes, headers: dict[str, str] | None = None
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in {
            "Content-Type": "application/json",
            "Content-Length": str(len(data)),
            **(headers or {}),
        }.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.partition("?")[0].rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        body = json.loads(raw or b"{}")
        given = self.headers.get("Authorization", "")
        keyed = owner.api_key is None or given == f"Bearer {owner.api_key}"
        fault = owner.take_fault()
        owner.record({"body": body, "authorized": keyed, "fault": fault})
        if fault == "drop":  # the connection closes with no status line: a dropped connection
            self.close_connection = True
            return
        if fault is not None and fault not in _REPLY_FAULTS:
            status, _, kind = fault.partition("-")
            retry_after = formatdate(time.time() + RETRY_AFTER_S, usegmt=True) if kind == "date" else "0"
            headers = {"Retry-After": retry_after} if status == "429" else {}
            self._send_json(
                int(status), {"error": {"message": f"injected {fault}", "type": "server_error"}}, headers
            )
            return
        if not keyed:  # like the real API, the refusal repeats the key it was given
            message = f"Incorrect API key provided: {given.removeprefix('Bearer ')}"
            self._send_json(401, {"error": {"message": message, "type": "invalid_request_error"}})
            return
        owner.wait_if_held()
        text, finish = owner.reply(body), "stop"
        if fault == "length":  # stopped by max_tokens half-way through the last phrase
            text, finish = text[: text.rindex(" ")], "length"
        payload = {
            "id": "chatcmpl-loopback",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
            ],
        }
        if fault == "malformed":
            self._send_json(200, b"<html>upstream hiccup</html>")
        elif fault == "truncated":
            self._send_json(200, json.dumps(payload).encode()[:60])
        else:
            self._send_json(200, payload)


#: faults that are no error status (a dropped connection or a bad 200 reply)
_REPLY_FAULTS = frozenset({"drop", "malformed", "truncated", "length"})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: OpenAIServer


class OpenAIServer:
    """The loopback server: ``start()``/``stop()`` or a ``with`` block; ``url`` is the API root (``.../v1``)."""

    def __init__(
        self,
        reply: Reply = scene_reply,
        faults: Iterable[str | None] = (),
        api_key: str | None = None,
        hold_timeout_s: float = 60.0,
    ) -> None:
        self.reply = reply
        self.api_key = api_key
        self.hold_timeout_s = hold_timeout_s
        #: every request received: {"body", "authorized", "fault"}
        self.requests: list[dict[str, Any]] = []
        self._faults: deque[str | None] = deque(faults)
        self._lock = threading.Lock()
        self._hold_after: int | None = None
        self._released = threading.Event()
        self._server: _HTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def add_faults(self, *faults: str | None) -> None:
        """Faults for the next requests, in arrival order (``None`` answers normally)."""
        with self._lock:
            self._faults.extend(faults)

    def take_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def hold_after(self, received: int) -> None:
        """Requests after the first ``received`` ones wait (at most ``hold_timeout_s``) for :meth:`release`."""
        with self._lock:
            self._hold_after = received
            self._released.clear()

    def release(self) -> None:
        self._released.set()

    def wait_if_held(self) -> None:
        with self._lock:
            held = self._hold_after is not None and len(self.requests) > self._hold_after
        if held:
            self._released.wait(self.hold_timeout_s)

    def start(self) -> OpenAIServer:
        server = _HTTPServer(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        threading.Thread(target=server.serve_forever, name="loopback-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

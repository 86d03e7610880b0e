"""One chat completion over HTTP (httpx), retried with exponential backoff on 429, 5xx and dropped connections.

The API key travels only in the ``Authorization`` header; every text this module puts into an error
or a log line has it masked, in case a server echoes it back.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from tailorgen.errors import PluginError, TailorgenError

__all__ = ["RETRY_STATUSES", "ChatClient"]

log = logging.getLogger(__name__)

#: statuses worth another try: timeouts, rate limits and a server that is busy, restarting or behind a proxy
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class ChatClient:
    """Posts chat-completion bodies to ``{base_url}/chat/completions``; thread-safe (one httpx pool)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout_s: float,
        retries: int,
        backoff_s: float,
        max_backoff_s: float,
        connections: int,
    ) -> None:
        import httpx

        self.url = base_url.rstrip("/") + "/chat/completions"
        self._key = api_key
        self._retries = retries
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            headers=headers,
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    def close(self) -> None:
        self._http.close()

    def _masked(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _delay(self, tries: int, retry_after: str | None) -> float:
        delay = self._backoff_s * 2 ** (tries - 1)
        # a server that says when to come back is believed (within the cap); an HTTP date is ignored
        with contextlib.suppress(ValueError):
            delay = max(delay, float(retry_after)) if retry_after else delay
        return min(delay, self._max_backoff_s)

    def complete(self, body: dict[str, Any]) -> str:
        """The first choice's message text ("" when the server sent none)."""
        import httpx

        tries = 0
        while True:
            tries += 1
            retry_after = None
            try:
                response = self._http.post(self.url, json=body)
            except httpx.TransportError as exc:  # refused, dropped mid-reply, timed out
                problem = f"{type(exc).__name__}: {self._masked(str(exc)) or 'no detail'}"
            else:
                if response.status_code < 400:
                    return self._content(response)
                problem = f"HTTP {response.status_code} {self._masked(_reason(response))}"
                if response.status_code not in RETRY_STATUSES:
                    raise TailorgenError(
                        f"chat server {self.url} refused the request: {problem}",
                        _hint(response.status_code),
                    )
                retry_after = response.headers.get("retry-after")
            if tries > self._retries:
                raise TailorgenError(
                    f"no reply from chat server {self.url} after {tries} tries (last: {problem})",
                    "check that the server is up and serves prompt_writer.options.model; "
                    "raise prompt_writer.options.http_retries for a busy server",
                )
            delay = self._delay(tries, retry_after)
            log.warning(
                "%s from %s; retry %d of %d in %.1f s", problem, self.url, tries, self._retries, delay
            )
            time.sleep(delay)

    def _content(self, response: Any) -> str:
        try:
            content = response.json()["choices"][0]["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise PluginError(
                f"chat server {self.url} answered without choices[0].message: "
                f"{self._masked(response.text[:200])!r}",
                "point prompt_writer.options.base_url at an OpenAI-compatible API root (ending in /v1)",
            ) from None
        return content if isinstance(content, str) else ""


def _reason(response: Any) -> str:
    """The server's error message (OpenAI shape ``{"error": {"message": ...}}``) or the status phrase."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    text = str(message or response.reason_phrase or "").strip()
    return text.splitlines()[0][:200] if text else ""


def _hint(status: int) -> str:
    if status in {401, 403}:
        return "set prompt_writer.options.api_key_env to the variable that holds a valid key"
    if status == 404:
        return "check prompt_writer.options.base_url (the API root, e.g. http://host:8000/v1) and model"
    return "check prompt_writer.options (model name, extra_body) against what the server accepts"

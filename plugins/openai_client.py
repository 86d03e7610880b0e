"""One chat completion over HTTP (httpx), retried per request with jittered exponential backoff.

Retried: 408, 429 and 5xx statuses, dropped connections, and 200 replies that are malformed or cut
short (no JSON, no ``choices[0].message``): one bad reply costs one more try of that request only.
A ``Retry-After`` header (seconds or an HTTP date) is obeyed within ``max_backoff_s``. The jitter
(each delay drawn from its upper half) is seeded by the request body, so runs repeat exactly.
A reply stopped by the token limit (``finish_reason = "length"``) loses its cut-off last line, which
the prompts stage would otherwise take for a whole phrase; the stage re-asks for what is missing.

The API key travels only in the ``Authorization`` header; every text this module puts into an error
or a log line has it masked, in case a server echoes it back, and shows ``base_url`` without its
user-info or query values (:func:`tailorgen.redact.mask_url`).
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tailorgen.errors import PluginError, TailorgenError
from tailorgen.redact import mask_url

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

        self.url = _endpoint(base_url)
        #: what errors and logs show: no user-info or query tokens
        self.shown_url = mask_url(self.url)
        self._key = api_key
        self._warned_length = False
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
        text = text.replace(self.url, self.shown_url)
        return text.replace(self._key, "***") if self._key else text

    def _delay(self, tries: int, retry_after: str | None, jitter: random.Random) -> float:
        """Exponential backoff, drawn from its upper half; a server's ``Retry-After`` is a floor."""
        ceiling = self._backoff_s * 2 ** (tries - 1)
        delay = ceiling * jitter.uniform(0.5, 1.0)
        return min(max(delay, _retry_after_s(retry_after)), self._max_backoff_s)

    def complete(self, body: dict[str, Any]) -> str:
        """The first choice's message text ("" when the server sent none)."""
        import httpx

        jitter = random.Random(json.dumps(body, sort_keys=True, default=str))
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
                    content, problem = self._content(response)
                    if content is not None:
                        return content
                    if tries > self._retries:
                        raise PluginError(
                            f"chat server {self.shown_url} answered {tries} times {problem}",
                            "point prompt_writer.options.base_url at an OpenAI-compatible API root (ending in /v1)",
                        )
                else:
                    problem = f"HTTP {response.status_code} {self._masked(_reason(response))}"
                    if response.status_code not in RETRY_STATUSES:
                        raise TailorgenError(
                            f"chat server {self.shown_url} refused the request: {problem}",
                            _hint(response.status_code),
                        )
                    retry_after = response.headers.get("retry-after")
            if tries > self._retries:
                raise TailorgenError(
                    f"no reply from chat server {self.shown_url} after {tries} tries (last: {problem})",
                    "check that the server is up and serves prompt_writer.options.model; "
                    "raise prompt_writer.options.http_retries for a busy server",
                )
            delay = self._delay(tries, retry_after, jitter)
            log.warning(
                "%s from %s; retry %d of %d in %.1f s", problem, self.shown_url, tries, self._retries, delay
            )
            time.sleep(delay)

    def _content(self, response: Any) -> tuple[str | None, str]:
        """(the reply text, "") or (None, what was wrong with a malformed or truncated reply)."""
        try:
            choice = response.json()["choices"][0]
            content = choice["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return None, f"without choices[0].message: {self._masked(response.text[:200])!r}"
        text = content if isinstance(content, str) else ""
        if choice.get("finish_reason") == "length":
            text = self._cut_last_line(text)
        return text, ""

    def _cut_last_line(self, text: str) -> str:
        """A reply stopped by max_tokens, without its cut-off last line."""
        if not self._warned_length:
            self._warned_length = True
            log.warning(
                "a reply from %s hit max_tokens and lost its last line; "
                "raise prompt_writer.options.max_tokens if this repeats",
                self.shown_url,
            )
        return text.rsplit("\n", 1)[0] if "\n" in text else ""


def _endpoint(base_url: str) -> str:
    """``{base_url}/chat/completions``, keeping a query string (some gateways take a key there) last."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/chat/completions"))


def _retry_after_s(value: str | None) -> float:
    """Seconds a ``Retry-After`` header asks for: a number, or an HTTP date (0 if absent or unreadable)."""
    if not value:
        return 0.0
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


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

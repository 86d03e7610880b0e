"""``openai`` prompt writer: any server with an OpenAI-compatible chat-completions API.

vLLM (``vllm serve``), TGI, llama.cpp's ``llama-server`` and Ollama all serve ``POST
{base_url}/chat/completions``. The writer sends the same dialog as ``hf-chat``
(:mod:`tailorgen.prompting.dialog`), several requests at a time, and returns the replies; the prompts
stage validates, re-asks and saves them exactly as for ``hf-chat``.

Each request carries ``seed`` (derived from the request's seed), which these servers use to seed
sampling, so a resumed run asks for what an uninterrupted one did. Whether the same seed gives the
same text is up to the server (vLLM, llama.cpp: yes for one server build, model and settings).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator
from tailorgen.errors import ConfigError
from tailorgen.prompting.dialog import ChatDialogOptions, chat_messages
from tailorgen.prompting.request import PromptRequest
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import PromptWriter
from tailorgen.runtime.progress import progress

__all__ = ["OpenAIChatWriter", "OpenAIOptions", "request_body"]

#: body keys the writer sets itself (extra_body may not replace them)
_OWN_KEYS = frozenset({"model", "messages", "temperature", "top_p", "max_tokens", "seed", "n", "stream"})


class OpenAIOptions(ChatDialogOptions):
    """The dialog and sampling (shared with ``hf-chat``) plus the server and how to talk to it."""

    base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="API root of the server (vLLM's default shown)."
    )
    model: str = Field("meta-llama/Llama-2-7b-chat-hf", description="Model name the server serves.")
    api_key_env: str | None = Field(
        None, description="Name of the environment variable holding the API key (none: no key sent)."
    )
    max_tokens: int = Field(512, ge=1, description="Most tokens generated per reply.")
    send_seed: bool = Field(
        True, description="Send a per-request `seed` (turn off for a server that rejects it)."
    )
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description='Further request fields the server accepts, e.g. {"top_k": 50}.'
    )
    concurrency: int = Field(8, ge=1, description="Requests in flight at once.")
    http_retries: int = Field(
        5, ge=0, description="Retries per request on 429, 5xx, dropped connections and malformed replies."
    )
    backoff_s: float = Field(
        1.0,
        ge=0,
        description="Longest first retry delay (seeded jitter: half to all of it); doubles on every retry.",
    )
    max_backoff_s: float = Field(30.0, ge=0, description="Longest delay between two tries.")
    timeout_s: float = Field(300.0, gt=0, description="Seconds to wait for one reply.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url {value!r} is not an http(s) URL, e.g. http://127.0.0.1:8000/v1")
        return value

    @field_validator("extra_body")
    @classmethod
    def _no_own_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = sorted(_OWN_KEYS & set(value))
        if clash:
            raise ValueError(
                f"extra_body may not set {clash}: they are options of their own (or set by the stage)"
            )
        return value


def request_body(options: OpenAIOptions, request: PromptRequest) -> dict[str, Any]:
    """The chat-completions body for one request."""
    body: dict[str, Any] = {
        **options.extra_body,
        "model": options.model,
        "messages": chat_messages(options, request),
        "temperature": options.temperature,
        "top_p": options.top_p,
        "max_tokens": options.max_tokens,
        "n": 1,
        "stream": False,
    }
    if options.send_seed:
        # 31 bits: llama.cpp reads a uint32 (and -1 means "random"), others an int32 or int64
        body["seed"] = request.seed % 2**31
    return body


class OpenAIChatWriter(PromptWriter):
    """Asks an OpenAI-compatible chat server for scene descriptions, several requests at a time."""

    name: ClassVar[str] = "openai"
    description: ClassVar[str] = (
        "An OpenAI-compatible chat server (vLLM, TGI, llama.cpp, Ollama) writes the prompts."
    )
    Options: ClassVar[type[BaseModel]] = OpenAIOptions
    #: options that do not change the text written (left out of the resume fingerprint)
    runtime_options: ClassVar[frozenset[str]] = frozenset(
        {"base_url", "api_key_env", "concurrency", "http_retries", "backoff_s", "max_backoff_s", "timeout_s"}
    )
    options: OpenAIOptions

    def _api_key(self) -> str | None:
        name = self.options.api_key_env
        if name is None:
            return None
        key = os.environ.get(name, "")
        if not key:
            raise ConfigError(
                f"environment variable {name} (prompt_writer.options.api_key_env) is not set",
                f"export {name}=<your key>, or leave api_key_env out for a server without keys",
            )
        return key

    def write(self, requests: list[PromptRequest]) -> list[list[str]]:
        from tailorgen.plugins.openai_client import ChatClient

        options = self.options
        client = ChatClient(
            options.base_url,
            self._api_key(),
            timeout_s=options.timeout_s,
            retries=options.http_retries,
            backoff_s=options.backoff_s,
            max_backoff_s=options.max_backoff_s,
            connections=options.concurrency,
        )
        replies: list[list[str]] = [[] for _ in requests]
        pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="openai-writer")
        try:
            with progress(total=len(requests), desc="openai", unit="set", leave=False) as bar:
                futures = {
                    pool.submit(client.complete, request_body(options, request)): index
                    for index, request in enumerate(requests)
                }
                for future in as_completed(futures):
                    replies[futures[future]] = [future.result()]
                    bar.update(1)
        finally:
            # after a failure (or Ctrl-C) the queued requests are dropped; a closed client makes any
            # retry of the ones in flight fail at once
            pool.shutdown(wait=False, cancel_futures=True)
            client.close()
        return replies


@hookimpl
def register_prompt_writers(register):  # type: ignore[no-untyped-def]
    register(OpenAIChatWriter)

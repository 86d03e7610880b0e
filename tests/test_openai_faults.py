"""The ``openai`` writer's failure paths: bad 200 replies retried per request, seeded jitter,
HTTP-date Retry-After, replies cut by the token limit, and URLs with credentials never shown."""

from __future__ import annotations

import logging

import pytest
from tailorgen.errors import TailorgenError
from tailorgen.hub.card_text import public_name
from tailorgen.plugins import openai_client
from tailorgen.prompting import PromptRequest
from tailorgen.redact import mask_url
from tailorgen.registry import create_prompt_writer
from tailorgen.testing.openai_server import RETRY_AFTER_S, OpenAIServer, scene_reply

REQUESTS = [PromptRequest(f"set{i}", ("cat", "dog"), 3, seed=i) for i in range(4)]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the client waits between tries (recorded, not slept)."""
    delays: list[float] = []
    monkeypatch.setattr(openai_client.time, "sleep", delays.append)
    return delays


def _writer(server: OpenAIServer, **options):
    return create_prompt_writer("openai", base_url=server.url, model="m", concurrency=1, **options)


def test_malformed_and_truncated_replies_cost_one_retry_of_that_request(sleeps: list[float]) -> None:
    with OpenAIServer() as server:
        clean = _writer(server).write(REQUESTS)
        server.add_faults(None, "malformed", None, "truncated", "malformed")
        again = _writer(server).write(REQUESTS)
    assert again == clean  # every answered request of the chunk kept, the bad ones asked again
    assert len(server.requests) == 2 * len(REQUESTS) + 3
    assert len(sleeps) == 3


def test_a_server_that_never_answers_properly_is_one_line_error(sleeps: list[float]) -> None:
    message = r"answered 3 times without choices\[0\]\.message"
    with (
        OpenAIServer(faults=["malformed"] * 3) as server,
        pytest.raises(TailorgenError, match=message) as caught,
    ):
        _writer(server, http_retries=2).write(REQUESTS[:1])
    assert "\n" not in str(caught.value)


def test_backoff_is_jittered_and_seeded_by_the_request(sleeps: list[float]) -> None:
    def delays(request: PromptRequest) -> list[float]:
        sleeps.clear()
        with OpenAIServer(faults=["503"] * 4) as server:
            _writer(server, backoff_s=1.0, max_backoff_s=100.0).write([request])
        return list(sleeps)

    first, second = delays(REQUESTS[0]), delays(REQUESTS[1])
    assert first == delays(REQUESTS[0])  # the same request waits the same: runs repeat exactly
    assert first != second  # clients retrying together spread out
    for tries, (a, b) in enumerate(zip(first, second, strict=True)):
        assert 2**tries * 0.5 <= min(a, b) <= max(a, b) <= 2**tries  # still exponential


def test_retry_after_as_an_http_date_is_obeyed(sleeps: list[float]) -> None:
    with OpenAIServer(faults=["429-date"]) as server:
        _writer(server, backoff_s=0.01).write(REQUESTS[:1])
    (delay,) = sleeps
    assert RETRY_AFTER_S - 2 <= delay <= RETRY_AFTER_S  # HTTP dates have whole seconds


def test_reply_cut_by_the_token_limit_loses_its_cut_line(caplog: pytest.LogCaptureFixture) -> None:
    with OpenAIServer(faults=["length"]) as server, caplog.at_level(logging.WARNING, "tailorgen"):
        (reply,) = _writer(server).write(REQUESTS[:1])
    whole = scene_reply(server.requests[0]["body"])
    assert reply == ["\n".join(whole.splitlines()[:-1])]  # the half phrase is not taken for a phrase
    assert "raise prompt_writer.options.max_tokens" in caplog.text


def test_credentials_in_base_url_never_show(caplog: pytest.LogCaptureFixture, sleeps: list[float]) -> None:
    with OpenAIServer(faults=["503", "400"]) as server, caplog.at_level(logging.WARNING, "tailorgen"):
        url = server.url.replace("http://", "http://alice:s3cret@") + "?api_key=tok123"
        with pytest.raises(TailorgenError) as caught:
            create_prompt_writer("openai", base_url=url, model="m").write(REQUESTS[:1])
    shown = str(caught.value) + caplog.text
    assert "http://***@127.0.0.1:" in shown
    assert "api_key=***" in shown
    for secret in ("s3cret", "alice", "tok123"):
        assert secret not in shown
    assert len(server.requests) == 2  # the query string did reach the server's route
    assert public_name(url) == mask_url(url)  # what a public model card shows


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@host:8000/v1?key=abc&org=x", "https://***@host:8000/v1?key=***&org=***"),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("https://token@[::1]/v1#frag", "https://***@[::1]/v1#***"),
        ("http://host:notaport/v1", "***"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown

"""The ``openai`` prompt writer against the loopback OpenAI-compatible server (127.0.0.1 only).

Good replies, replies missing a label (the stage re-asks), injected 429/5xx and a dropped connection
(the same file as a clean run), API keys from the environment (never written or shown), and a
``tailorgen run`` killed with SIGKILL mid-way that resumes to the clean run's ``prompts.jsonl``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tailorgen.errors import ConfigError, TailorgenError
from tailorgen.io import read_jsonl
from tailorgen.plugins.hf_chat import HFChatOptions
from tailorgen.prompting import PromptRequest, write_prompts
from tailorgen.prompting.dialog import chat_messages
from tailorgen.registry import create_prompt_writer
from tailorgen.testing.openai_server import OpenAIServer, keywords_of, scene_reply

LABELS = ["cat", "dog", "cow", "bus", "kite"]  # 5 single-label sets + 10 pairs = 15 sets
SETS = 15
KEY = "sk-loopback-0123456789"


def _config(tmp_path: Path, url: str, options: str = "", prompts: str = "") -> Path:
    cfg = tmp_path / "openai.toml"
    cfg.write_text(
        f"labels = {{ labels = {LABELS!r} }}\n".replace("'", '"')
        + '[prompt_writer]\nplugin = "openai"\n'
        + f'options = {{ base_url = "{url}", model = "loopback", backoff_s = 0.01, concurrency = 3{options} }}\n'
        + f"[prompts]\nprompts_per_set = 3\nsets_per_chunk = 3\nfill_from_template = false\n{prompts}"
    )
    return cfg


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """prompts.jsonl of an uninterrupted run with only good replies."""
    tmp = tmp_path_factory.mktemp("clean")
    with OpenAIServer() as server:
        summary = write_prompts(_config(tmp, server.url), tmp / "run")
        assert len(server.requests) == SETS  # every set complete at the first ask: no re-ask
    assert (summary["label_sets"], summary["accepted"], summary["short_sets"]) == (SETS, 3 * SETS, 0)
    return (tmp / "run" / "prompts.jsonl").read_bytes()


def test_writer_sends_hf_chat_dialog_sampling_and_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPBACK_KEY", KEY)
    requests = [
        PromptRequest("cat+dog", ("cat", "dog"), 4, seed=2**40 + 7),
        PromptRequest("cow", ("cow",), 4),
    ]
    with OpenAIServer(api_key=KEY) as server:
        for dialog in ("painter", "instruction"):
            writer = create_prompt_writer(
                "openai",
                base_url=server.url,
                model="m",
                api_key_env="LOOPBACK_KEY",
                dialog=dialog,
                concurrency=1,
            )
            replies = writer.write(requests)
            received = [r["body"] for r in server.requests[-2:]]  # one at a time: in request order
            assert replies == [[scene_reply(body)] for body in received]
            assert [b["messages"] for b in received] == [
                chat_messages(HFChatOptions(dialog=dialog), r) for r in requests
            ]
    assert keywords_of(server.requests[0]["body"]) == ["cat", "dog"]
    for entry in server.requests:
        body = entry["body"]
        assert entry["authorized"]
        assert (body["model"], body["temperature"], body["top_p"], body["n"]) == ("m", 0.6, 0.9, 1)
    assert [e["body"]["seed"] for e in server.requests] == [7, 0, 7, 0]  # 31 bits of the request's seed


def test_run_writes_prompts_through_the_stage(clean_run: bytes) -> None:
    records = [json.loads(line) for line in clean_run.decode().splitlines()]
    assert {(r["writer"], r["path"], r["accepted"]) for r in records} == {("openai", "ask", True)}
    assert Counter(r["set_id"] for r in records) == dict.fromkeys({r["set_id"] for r in records}, 3)
    assert len({r["set_id"] for r in records}) == SETS


def test_reply_missing_a_label_is_reasked(tmp_path: Path) -> None:
    first_asks: set[tuple[str, ...]] = set()
    lock = threading.Lock()

    def forgetful(body: dict[str, Any]) -> str:
        """The first reply for each label set names only its first keyword."""
        words = tuple(keywords_of(body))
        with lock:
            first = words not in first_asks
            first_asks.add(words)
        if not first:
            return scene_reply(body)
        only = words[0] if len(words) > 1 else "thing"  # a pair loses its second label, a single its only one
        return "\n".join(
            f"{i}. a lovely {only} alone on a wide and empty beach at dawn, view {i}" for i in range(1, 4)
        )

    with OpenAIServer(reply=forgetful) as server:
        write_prompts(_config(tmp_path, server.url), tmp_path / "run")
    records = read_jsonl(tmp_path / "run" / "prompts.jsonl")
    first = [r for r in records if r["attempt"] == 0]
    assert len(first) == 3 * SETS
    assert all(r["reason"] == "missing-label" for r in first)
    again = [r for r in records if r["accepted"]]
    assert {r["path"] for r in again} == {"re-ask"}
    assert Counter(r["set_id"] for r in again) == dict.fromkeys({r["set_id"] for r in records}, 3)
    assert len(server.requests) == 2 * SETS
    seeds = {(r["set_id"], r["attempt"]): r["seed"] for r in records}
    assert all(seeds[(s, 0)] != seeds[(s, 1)] for s, _ in seeds)  # a re-ask is a new seed


def test_429s_5xx_and_a_dropped_connection_give_the_clean_file(
    clean_run: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPBACK_KEY", KEY)
    faults = ["429", "429", "drop", "503", None, "500", "drop", "429"]
    with OpenAIServer(faults=faults, api_key=KEY) as server, caplog.at_level(logging.WARNING, "tailorgen"):
        write_prompts(_config(tmp_path, server.url, ', api_key_env = "LOOPBACK_KEY"'), tmp_path / "run")
    assert [r["fault"] for r in server.requests[: len(faults)]] == faults
    assert len(server.requests) == SETS + sum(f is not None for f in faults)
    assert (tmp_path / "run" / "prompts.jsonl").read_bytes() == clean_run
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 7
    assert any("HTTP 429" in m for m in retries)
    assert any("RemoteProtocolError" in m for m in retries)
    for path in (tmp_path / "run").iterdir():  # the key is in no file of the run (config, manifest, ...)
        assert KEY not in path.read_text()
    assert KEY not in caplog.text


def test_retries_run_out_with_a_one_line_error(tmp_path: Path) -> None:
    request = [PromptRequest("cat", ("cat",), 3)]
    with OpenAIServer(faults=["503", "drop", "429"]) as server:
        writer = create_prompt_writer("openai", base_url=server.url, http_retries=2, backoff_s=0.0)
        with pytest.raises(
            TailorgenError, match=r"no reply from chat server .* after 3 tries \(last: HTTP 429"
        ) as info:
            writer.write(request)
        assert "\n" not in str(info.value)
        assert len(server.requests) == 3
    with pytest.raises(TailorgenError, match=r"after 2 tries \(last: ConnectError"):  # nothing listens now
        create_prompt_writer("openai", base_url=_refusing_url(), http_retries=1, backoff_s=0.0).write(request)


def _refusing_url() -> str:
    """A stopped server's URL: a loopback port known to refuse connections."""
    with OpenAIServer() as other:
        return other.url


def test_api_key_comes_from_the_environment_and_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    request = [PromptRequest("cat", ("cat",), 3)]
    with OpenAIServer(api_key=KEY) as server:
        writer = create_prompt_writer("openai", base_url=server.url, api_key_env="LOOPBACK_KEY")
        monkeypatch.delenv("LOOPBACK_KEY", raising=False)
        with pytest.raises(ConfigError, match=r"environment variable LOOPBACK_KEY .* is not set"):
            writer.write(request)
        wrong = "sk-wrong-secret-42"
        monkeypatch.setenv("LOOPBACK_KEY", wrong)
        with pytest.raises(
            TailorgenError, match=r"refused the request: HTTP 401 Incorrect API key provided: \*\*\*"
        ) as info:
            writer.write(request)
        assert wrong not in str(info.value)  # the server echoed it; the error masks it
        assert "api_key_env" in str(info.value)
        monkeypatch.setenv("LOOPBACK_KEY", KEY)
        assert writer.write(request)[0][0].startswith("Sure!")
    assert [r["authorized"] for r in server.requests] == [False, True]


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="base_url"):
        write_prompts(_config(tmp_path, "localhost:8000/v1"), tmp_path / "run")
    with pytest.raises(ConfigError, match=r"extra_body may not set \['seed'\]"):
        write_prompts(
            _config(tmp_path, "http://127.0.0.1:9/v1", ", extra_body = { seed = 1 }"), tmp_path / "run"
        )


def _tailorgen(*args: str) -> list[str]:
    return [sys.executable, "-m", "tailorgen", *args]


def test_sigkill_mid_run_then_resume_gives_the_clean_file(clean_run: bytes, tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    target = tmp_path / "run" / "prompts.jsonl"
    with OpenAIServer() as server:
        args = _tailorgen(
            "run", str(_config(tmp_path, server.url)), "--out", str(tmp_path / "run"), "--stages", "prompts"
        )
        server.hold_after(3)  # the first chunk (3 sets, one request each) is answered, then replies wait
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if target.exists() and target.stat().st_size > 0 and len(server.requests) == 6:
                proc.send_signal(signal.SIGKILL)  # the second chunk's requests are in flight
                break
            time.sleep(0.05)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
        assert len({r["set_id"] for r in read_jsonl(target)}) == 3
        server.release()
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "3 of 15 label sets already written; 12 to go" in done.stderr
    assert target.read_bytes() == clean_run

"""A mistyped local path is named as such without the network; a Hub failure says why, truthfully."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import huggingface_hub
import pytest
from tailorgen.cli import main
from tailorgen.errors import TailorgenError
from tailorgen.hub.auth import hub_call
from tailorgen.hub.sources import looks_local
from tailorgen.log import configure_cli


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Hub was asked")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline mode off, as for a user who never set HF_HUB_OFFLINE."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


def test_a_mistyped_run_directory_is_named_without_a_hub_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_network: None
) -> None:
    (tmp_path / "runs" / "demo").mkdir(parents=True)
    (tmp_path / "img.png").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["predict", "runs/dmeo", "img.png"])
    err = capsys.readouterr().err
    assert err.startswith(
        "error: runs/dmeo is neither a local folder nor a Hub repo id; did you mean 'runs/demo'?"
    )
    assert len(err.splitlines()) == 1
    assert "HF_HUB_OFFLINE" not in err


@pytest.mark.parametrize(
    ("source", "local"),
    [("runs/dmeo", True), ("./x", True), ("a/b/c", True), ("model.onnx", True), ("user/model", False)],
)
def test_what_looks_like_a_path(
    source: str, local: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert looks_local(source) is local


def test_an_unreachable_hub_is_not_blamed_on_offline_mode(online: None) -> None:
    with pytest.raises(TailorgenError) as caught, hub_call("list tailorgen models on the Hub"):
        raise httpx.ConnectError("[Errno -2] Name or service not known")
    assert (
        "the Hugging Face Hub cannot be reached (ConnectError: [Errno -2] Name or service not known)"
        in str(caught.value)
    )
    assert "HF_HUB_OFFLINE" not in f"{caught.value} {caught.value.hint}"


def test_a_hub_classifier_out_of_reach_says_which_of_offline_or_network(
    online: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub.errors import LocalEntryNotFoundError
    from tailorgen.classifier import Classifier

    def unreachable(*args: object, **kwargs: object) -> None:
        try:
            raise httpx.ConnectError("Name or service not known")
        except httpx.ConnectError as exc:
            raise LocalEntryNotFoundError("cannot find the requested files in the disk cache") from exc

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    with pytest.raises(TailorgenError, match="cannot be reached") as caught:
        Classifier.from_pretrained("someone/tagger")
    assert "HF_HUB_OFFLINE" not in f"{caught.value} {caught.value.hint}"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TailorgenError, match=r"offline mode is on \(HF_HUB_OFFLINE=1\)"):
        Classifier.from_pretrained("someone/tagger")


def test_quiet_hides_the_hub_clients_retry_lines(
    online: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def retrying(*args: object, **kwargs: object) -> None:
        retries = logging.getLogger("huggingface_hub.utils._http")
        for wait in (1, 2, 4):
            retries.warning(f"Retrying in {wait}s [Retry {wait}/5].")
        raise httpx.ConnectError("Name or service not known")

    monkeypatch.setattr(huggingface_hub.HfApi, "list_models", retrying)
    try:
        with pytest.raises(SystemExit):
            main(["-q", "hub", "list"])
        err = capfd.readouterr().err
        assert err.splitlines() == [err.strip()]
        assert "cannot be reached" in err
        assert "Retrying" not in err
    finally:
        configure_cli(quiet=False, verbose=False)

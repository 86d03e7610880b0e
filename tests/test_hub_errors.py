"""Publishing and loading fail early, in one line, and never show the token."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_helpers import TOKEN, USER, cli, make_run
from tailorgen.errors import TailorgenError
from tailorgen.testing.hub_server import HubServer

OTHER_TOKEN = "hf_OTHERuserTOKENforTESTS987654321"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    with HubServer(tokens={TOKEN: USER, OTHER_TOKEN: "mallory"}, home=tmp_path / "hf-home") as server:
        yield server


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, demo_models: dict[str, Path]) -> Path:
    return make_run(
        tmp_path_factory.mktemp("run") / "run", demo_models["clip-rn"], n_images=4, text_encoder=False
    )


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_missing_token_fails_before_any_upload_work(hub: HubServer, run_dir: Path) -> None:
    result = cli(
        hub, "publish", str(run_dir), "--repo-id", f"{USER}/m", "--dataset-repo-id", f"{USER}/d", token=None
    )
    assert result.returncode == 1
    assert "no Hugging Face token found" in _one_line_error(result.stderr)
    assert "hf auth login" in result.stderr
    assert hub.requests == []  # nothing was sent
    assert not list(run_dir.glob(".publish-*"))  # nothing was staged either


def test_token_from_the_standard_login_file(hub: HubServer, run_dir: Path) -> None:
    (hub.home / "token").write_text(TOKEN)  # what `hf auth login` writes
    try:
        result = cli(hub, "publish", str(run_dir), "--repo-id", f"{USER}/from-login", token=None)
    finally:
        (hub.home / "token").unlink()
    assert result.returncode == 0, result.stderr
    assert ("model", f"{USER}/from-login") in hub.store.repos


def test_offline_mode_fails_before_any_upload_work(hub: HubServer, run_dir: Path) -> None:
    result = cli(hub, "publish", str(run_dir), "--repo-id", f"{USER}/m", extra_env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 1
    assert "offline mode" in _one_line_error(result.stderr)
    assert hub.requests == []
    listing = cli(hub, "hub", "list", extra_env={"HF_HUB_OFFLINE": "1"})
    assert "offline mode" in _one_line_error(listing.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repo-id", "no-namespace"], "needs a namespace"),
        (["--repo-id", f"{USER}/bad name"], "not a valid repo id"),
        (["--repo-id", f"{USER}/m", "--include-onnx"], "export/model.onnx not found"),
        (["--repo-id", f"{USER}/m", "--text-encoder-repo-id", f"{USER}/te"], "no fine-tuned text encoder"),
    ],
)
def test_bad_publish_input_is_one_line_and_uploads_nothing(
    hub: HubServer, run_dir: Path, args: list[str], message: str
) -> None:
    result = cli(hub, "publish", str(run_dir), *args)
    assert result.returncode == 1
    assert message in _one_line_error(result.stderr)
    assert [r for r in hub.requests if r[0] == "POST"] == []


def test_a_run_with_pickled_weights_is_not_published(hub: HubServer, run_dir: Path, tmp_path: Path) -> None:
    import shutil

    run = shutil.copytree(run_dir, tmp_path / "run")
    (run / "classifier" / "model.safetensors").rename(run / "classifier" / "pytorch_model.bin")
    result = cli(hub, "publish", str(run), "--repo-id", f"{USER}/m")
    assert "found pytorch_model.bin; only safetensors are published" in _one_line_error(result.stderr)
    assert hub.requests == []


def _upload(hub: HubServer, repo_id: str, files: dict[str, bytes]) -> None:
    from huggingface_hub import CommitOperationAdd, HfApi

    with hub.client_env(token=TOKEN):
        api = HfApi()
        api.create_repo(repo_id)
        ops = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=data) for name, data in files.items()]
        api.create_commit(repo_id, ops, commit_message="hand-made")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no-labels", "lacks label_names"),
        ("pickle", "pickled weights are refused"),
        ("schema", "config.json has the wrong schema: label_names must be a list"),
    ],
)
def test_invalid_repo_contents_are_refused(hub: HubServer, run_dir: Path, change: str, message: str) -> None:
    from tailorgen.classifier import Classifier

    config = json.loads((run_dir / "classifier" / "config.json").read_text())
    weights = (run_dir / "classifier" / "model.safetensors").read_bytes()
    files = {"config.json": config, "model.safetensors": weights}
    if change == "no-labels":
        files["config.json"] = {k: v for k, v in config.items() if k != "label_names"}
    elif change == "pickle":
        files["pytorch_model.bin"] = files.pop("model.safetensors")
    else:
        files["config.json"] = {**config, "label_names": " ".join(config["label_names"])}
    repo_id = f"{USER}/broken-{change}"
    _upload(hub, repo_id, {k: json.dumps(v).encode() if k.endswith(".json") else v for k, v in files.items()})
    with hub.client_env(token=None), pytest.raises(TailorgenError, match=message):
        Classifier.from_pretrained(repo_id)


def _debug_publish(hub: HubServer, run_dir: Path, **options: Any) -> subprocess.CompletedProcess[str]:
    """``tailorgen --debug publish RUN --repo-id alice/m`` (tracebacks and the client's request log on)."""
    return cli(hub, "--debug", "publish", str(run_dir), "--repo-id", f"{USER}/m", **options)


def test_hub_errors_are_scrubbed_of_the_token(hub: HubServer, run_dir: Path) -> None:
    # mallory's token is valid but may not write under alice's namespace: the Hub answers 403
    result = cli(hub, "publish", str(run_dir), "--repo-id", f"{USER}/m", token=OTHER_TOKEN)
    line = _one_line_error(result.stderr)
    assert "create repo alice/m failed" in line
    assert "hf auth login" in line
    assert OTHER_TOKEN not in result.stderr + result.stdout
    unknown = cli(hub, "publish", str(run_dir), "--repo-id", f"{USER}/m", token="hf_NOTaKNOWNtoken1234567")
    assert "hf_NOTaKNOWNtoken1234567" not in unknown.stderr + unknown.stdout
    assert "failed" in _one_line_error(unknown.stderr)
    traced = _debug_publish(hub, run_dir, token=OTHER_TOKEN, extra_env={"HF_DEBUG": "1"})
    assert "Traceback" in traced.stderr  # --debug shows the traceback and the client's request log ...
    assert "authorization: <TOKEN>" in traced.stderr
    assert OTHER_TOKEN not in traced.stderr + traced.stdout  # ... still without the token


def test_token_never_appears_in_output_or_logs(
    hub: HubServer, run_dir: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    from tailorgen.hub import publish
    from tailorgen.hub.auth import hub_call

    debug = _debug_publish(
        hub, run_dir, extra_env={"HF_DEBUG": "1", "HF_HUB_VERBOSITY": "debug", "TAILORGEN_QUIET": "0"}
    )
    assert debug.returncode == 0, debug.stderr
    assert "POST" in debug.stderr  # the client's debug log ran and was captured ...
    assert TOKEN not in debug.stdout + debug.stderr  # ... without the token

    caplog.set_level(logging.DEBUG)
    with hub.client_env(token=TOKEN):
        publish(run_dir, f"{USER}/m2")
        with pytest.raises(TailorgenError) as error, hub_call("upload", TOKEN):
            raise ValueError(f"server said: bad header Bearer {TOKEN}")  # an error that echoes the token
    out, err = capfd.readouterr()
    assert TOKEN not in str(error.value)
    assert "***" in str(error.value)
    assert caplog.records  # huggingface_hub logged at debug level
    assert TOKEN not in caplog.text + out + err

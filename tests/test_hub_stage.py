"""The ``publish`` stage: repos from ``[publish]``, checked before any stage runs, ``publish.json`` written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hub_helpers import TOKEN, USER, cli, make_run
from tailorgen.testing.hub_server import HubServer


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, demo_models: dict[str, Path]) -> Path:
    return make_run(
        tmp_path_factory.mktemp("run") / "run", demo_models["clip-rn"], n_images=4, text_encoder=False
    )


def _config(tmp_path: Path, publish: str) -> Path:
    import tomli_w

    labels = {"name": "pets-and-things", "labels": ["cat", "dog", "bicycle", "umbrella"]}
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps({"labels": labels}) + f"\n[publish]\n{publish}\n")
    return path


def test_publish_stage_writes_publish_json(hub: HubServer, run_dir: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, f'repo_id = "{USER}/staged"\ndataset_repo_id = "{USER}/staged-data"')
    sent = len(hub.requests)
    plan = cli(hub, "run", str(config), "--stages", "publish", "--out", str(run_dir), "--dry-run", "--json")
    assert json.loads(plan.stdout)["stages"]["publish"]["repo_id"] == f"{USER}/staged"
    assert len(hub.requests) == sent  # planning talks to no one

    done = cli(hub, "run", str(config), "--stages", "publish", "--out", str(run_dir))
    assert done.returncode == 0, done.stderr
    record = json.loads((run_dir / "publish.json").read_text())
    head = hub.store.repos[("model", f"{USER}/staged")].resolve("main").oid
    assert record["model"]["commit"] == head
    assert record["dataset"]["repo_id"] == f"{USER}/staged-data"
    summary = json.loads((run_dir / "manifest.json").read_text())["stages"]["publish"]["summary"]
    assert summary["model"] == {"repo_id": f"{USER}/staged", "commit": head}
    assert TOKEN not in (run_dir / "publish.json").read_text() + (run_dir / "manifest.json").read_text()


@pytest.mark.parametrize(
    ("publish", "token", "message"),
    [
        ("private = true", TOKEN, "[publish] has no repo_id"),
        ('repo_id = "nonamespace"', TOKEN, "[publish] repo_id 'nonamespace' needs a namespace"),
        (f'repo_id = "{USER}/x"', None, "cannot publish: no Hugging Face token found"),
    ],
)
def test_publish_problems_stop_the_run_before_any_stage(
    hub: HubServer, tmp_path: Path, publish: str, token: str | None, message: str
) -> None:
    config = _config(tmp_path, publish)
    sent = len(hub.requests)
    result = cli(
        hub, "run", str(config), "--stages", "export,publish", "--out", str(tmp_path / "run"), token=token
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "run").exists()  # the export stage never started
    assert len(hub.requests) == sent

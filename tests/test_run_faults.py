"""Faults of long runs: torchrun ranks, a corrupt manifest, stale staging folders, unsynced renames,
Hub classifiers updated under a cached evaluation, and publish paths outside the run."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import tailorgen
from hub_helpers import TOKEN, USER, make_run
from tailorgen.errors import TailorgenError
from tailorgen.io import atomic_write_text, partial_dir, replace_dir

LABELS = {
    "name": "pets",
    "labels": [{"name": n, "split": s} for n, s in [("cat", "seen"), ("dog", "unseen")]],
}


def _config(out: Path) -> dict:
    return {
        "labels": LABELS,
        "run": {"out_dir": str(out), "device": "cpu"},
        "prompt_writer": {"plugin": "template", "options": {}},
        "prompts": {"prompts_per_set": 1},
    }


def _run(out: Path) -> None:
    tailorgen.run(_config(out), stages=["prompts"])


def test_only_rank_zero_writes_the_run_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    monkeypatch.setenv("RANK", "1")  # what torchrun sets in the second process
    _run(out)
    assert (out / "prompts.jsonl").is_file()  # the stage itself ran
    assert not (out / "manifest.json").exists()
    assert not (out / "config.toml").exists()
    monkeypatch.setenv("RANK", "0")
    _run(out)
    assert json.loads((out / "manifest.json").read_text())["stages"]["prompts"]["status"] == "done"
    assert (out / "config.toml").is_file()


def test_corrupt_manifest_is_one_line_naming_file_and_fix(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(out)
    manifest = out / "manifest.json"
    manifest.write_text('{"stages": {"prompts": ')  # a disk that filled mid-write
    with pytest.raises(TailorgenError) as caught:
        _run(out)
    message = str(caught.value)
    assert f"run manifest {manifest} is unreadable" in message
    assert f"delete {manifest}" in message
    assert "\n" not in message
    manifest.unlink()
    _run(out)  # the fix works
    assert json.loads(manifest.read_text())["stages"]["prompts"]["status"] == "done"


def test_stale_partial_folders_go_on_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    stale = [out / ".classifier.partial", out / "finetune" / "checkpoints" / ".step-40.partial"]
    for folder in stale:
        (folder / "text_encoder").mkdir(parents=True)
        (folder / "text_encoder" / "model.safetensors").write_bytes(b"half a file")
    keep = out / "finetune" / "checkpoints" / "step-20"
    keep.mkdir(parents=True)
    _run(out)
    assert [p.exists() for p in stale] == [False, False]
    assert keep.is_dir()


def test_renames_are_followed_by_an_fsync_of_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[bool] = []
    real_fsync = os.fsync

    def record(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", record)
    atomic_write_text(tmp_path / "a.txt", "x")
    assert synced == [False, True]  # the file, then the folder holding its new name
    synced.clear()
    staging = partial_dir(tmp_path / "model")
    (staging / "weights").write_text("w")
    replace_dir(staging, tmp_path / "model")
    assert synced == [True]
    assert (tmp_path / "model" / "weights").read_text() == "w"
    assert not staging.exists()


@pytest.mark.parametrize(
    "file_name", ["../../outside.txt", "/etc/hostname", "images/../../../outside.txt", 7]
)
def test_publish_refuses_files_outside_the_run(tmp_path: Path, demo_models: dict, file_name: object) -> None:
    from tailorgen.hub.dataset_repo import stage_dataset
    from tailorgen.hub.run_facts import read_run

    run = make_run(tmp_path / "run", demo_models["clip-rn"], n_images=2, text_encoder=False)
    (tmp_path / "outside.txt").write_text("a secret")
    metadata = run / "synthetic" / "metadata.jsonl"
    rows = [json.loads(line) for line in metadata.read_text().splitlines()]
    rows[1]["file_name"] = file_name
    metadata.write_text("".join(json.dumps(r) + "\n" for r in rows))
    staged = tmp_path / "staged"
    staged.mkdir()
    with pytest.raises(TailorgenError, match=f"file_name {file_name!r} is not a path inside") as caught:
        stage_dataset(read_run(run), staged, f"{USER}/data")
    assert "\n" not in str(caught.value)
    assert not any(staged.rglob("*"))  # nothing staged, nothing uploaded


def test_evaluation_cache_key_follows_the_hub_commit(hub, tmp_path: Path, demo_models: dict) -> None:
    from tailorgen.evaluation.models import classifier_job
    from tailorgen.hub import publish

    run = make_run(tmp_path / "run", demo_models["clip-rn"], n_images=2, text_encoder=False)
    repo = f"{USER}/evaluated"
    with hub.client_env(token=TOKEN):
        first = publish(run, repo)["model"]["commit"]
        assert classifier_job(repo, None, []).identity == (repo, first)
        (run / "eval.json").write_text(json.dumps({"retrained": True}))  # any change makes a new commit
        second = publish(run, repo, commit_message="update")["model"]["commit"]
        assert second != first
        job = classifier_job(repo, None, [])
    assert job.identity == (repo, second)
    assert job.compute.keywords["revision"] == second  # what is scored is the commit in the key

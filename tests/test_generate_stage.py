"""Stage ``generate`` end to end on the tiny models: output layout, resume after SIGKILL, repair of
damaged images, torchrun with 2 processes = 1 process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from generate_helpers import PROMPT_SETS, cli_env, run_cli, snapshot, write_config, write_prompts
from tailorgen.config import load_config
from tailorgen.pipeline import run_pipeline


@pytest.fixture(scope="module", autouse=True)
def one_thread():  # type: ignore[no-untyped-def]
    """Runs in this process use one thread, like the subprocesses (CPU kernels round per thread count)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def config(demo_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    # a low acceptance guess plans more attempts than the quota needs: the first round has surplus
    generate = {"expected_acceptance": 0.3, "images_per_round": 8}
    return write_config(tmp_path_factory.mktemp("cfg") / "run.toml", demo_models, generate=generate)


def _generate(config: Path, run_dir: Path) -> dict:
    return run_pipeline(load_config(config), ["generate"], run_dir)["generate"]


@pytest.fixture(scope="module")
def reference(config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted single-process run."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    write_prompts(run_dir)
    _generate(config, run_dir)
    return run_dir


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_output_is_an_imagefolder_with_scores_and_card(reference: Path) -> None:
    root = reference / "synthetic"
    rows, rejected = _rows(root / "metadata.jsonl"), _rows(root / "rejected.jsonl")
    unseen = ["bus", "cat", "cow", "elephant"]
    assert rows, "the tiny run accepts some images"
    for row in rows:
        assert (root / row["file_name"]).is_file()
        assert row["accepted"] is True  # keep_rejected is off
        assert tuple(row["targets"]) in PROMPT_SETS
        assert row["prompt"] in PROMPT_SETS[tuple(row["targets"])]
    for row in rows + rejected:  # v and u for every label of every attempt, accepted or not
        assert sorted(row["scores"]) == unseen
        assert sorted(row["clip_logits"]) == unseen
    assert all(not r["accepted"] and "file_name" not in r for r in rejected)
    assert {r["reason"] for r in rejected} == {"filter", "surplus"}
    for surplus in (r for r in rejected if r["reason"] == "surplus"):  # accepted by the filter, too late
        assert sorted(surplus["labels"]) == sorted(surplus["targets"])
        full = [t for t in surplus["targets"] if sum(t in r["targets"] for r in rows) == 2]
        assert full, surplus
    assert sorted(p.name for p in (root / "images").iterdir()) == sorted(
        Path(r["file_name"]).name for r in rows
    )

    report = json.loads((root / "report.json").read_text())
    by_label = {row["label"]: row for row in report["labels"]}
    assert sorted(by_label) == unseen
    for label, row in by_label.items():
        accepted = sum(label in r["targets"] for r in rows)
        assert accepted <= 2, f"{label} has {accepted} accepted images, over the quota of 2"
        assert row["quota"] == 2
        assert row["accepted"] == accepted
        assert row["surplus"] == sum(label in r["targets"] for r in rejected if r["reason"] == "surplus")
        assert row["attempts"] == sum(label in r["targets"] for r in rows + rejected)
        assert row["status"] == ("quota met" if accepted == 2 else "attempt budget spent")
        assert row["status"] == "quota met" or row["attempts"] == 6
    summary = report["summary"]
    assert summary["accepted"] == len(rows)
    assert summary["surplus"] == sum(r["reason"] == "surplus" for r in rejected) > 0
    assert summary["attempts"] == len(rows) + len(rejected)
    assert summary["label_set_sizes"] == {
        str(n): sum(len(r["targets"]) == n for r in rows + rejected) for n in (1, 2)
    }

    card = (root / "README.md").read_text()
    assert "tiny-coco" in card
    bus = by_label["bus"]
    assert f"| bus | 2 | {bus['accepted']} | {bus['surplus']} | {bus['attempts']} |" in card
    assert "strict" in card
    assert "not fine-tuned" in card

    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("imagefolder", data_dir=str(root), split="train")
    assert len(ds) == len(rows)
    assert ds[0]["image"].size == (32, 32)
    assert ds[0]["labels"] == rows[0]["labels"]


def _journals(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((run_dir / "synthetic" / ".journal").iterdir())}


def test_rerun_of_a_finished_run_changes_nothing(reference: Path, config: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(reference, copy)
    _generate(config, copy)
    assert snapshot(copy) == snapshot(reference)
    # nothing was drawn again, not even the surplus images whose files the first run deleted
    assert _journals(copy) == _journals(reference)
    assert any(r["reason"] == "surplus" for r in _rows(copy / "synthetic" / "rejected.jsonl"))


def test_sigkill_mid_run_then_resume_equals_clean_run(reference: Path, config: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_prompts(run_dir)
    journal = run_dir / "synthetic" / ".journal" / "rank-00000.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tailorgen",
            "run",
            str(config),
            "--out",
            str(run_dir),
            "--stages",
            "generate",
        ],
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and journal.read_bytes().count(b"\n") >= 2:
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (run_dir / "synthetic" / "metadata.jsonl").exists()
    assert snapshot(run_dir) != snapshot(reference)

    _generate(config, run_dir)
    assert snapshot(run_dir) == snapshot(reference)
    rows = _rows(run_dir / "synthetic" / "metadata.jsonl")
    for label in ("bus", "cat", "cow", "elephant"):  # the quota still caps every label
        assert sum(label in r["targets"] for r in rows) <= 2
    assert any(r["reason"] == "surplus" for r in _rows(run_dir / "synthetic" / "rejected.jsonl"))


def test_half_written_state_is_repaired(reference: Path, config: Path, tmp_path: Path) -> None:
    """The states a kill can leave: a temp file, an image without its record, a torn journal line."""
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    root = run_dir / "synthetic"
    journal = root / ".journal" / "rank-00000.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-3]) + lines[-3][: len(lines[-3]) // 2])
    (root / "images" / ".000001.png.abcd.tmp").write_bytes(b"half an image")
    (root / "metadata.jsonl").unlink()
    _generate(config, run_dir)
    assert snapshot(run_dir) == snapshot(reference)
    assert not list((root / "images").glob(".*"))


def test_corrupt_and_missing_images_are_regenerated(reference: Path, config: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    images = sorted((run_dir / "synthetic" / "images").iterdir())
    assert len(images) >= 2
    damaged, missing = images[0], images[-1]
    original = damaged.read_bytes()
    damaged.write_bytes(original[:40] + bytes(len(original) - 40))  # same size, broken data
    missing.unlink()
    _generate(config, run_dir)
    assert damaged.read_bytes() == original
    assert missing.is_file()
    assert snapshot(run_dir) == snapshot(reference)


def test_torchrun_two_processes_equals_one(reference: Path, config: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_prompts(run_dir)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    result = run_cli("run", str(config), "--out", str(run_dir), "--stages", "generate", launcher=launcher)
    assert result.returncode == 0, result.stderr[-3000:]
    journals = sorted(p.name for p in (run_dir / "synthetic" / ".journal").iterdir())
    assert journals == ["rank-00000.jsonl", "rank-00001.jsonl"]  # both processes did work
    for name in journals:
        assert (run_dir / "synthetic" / ".journal" / name).read_text().strip()
    assert snapshot(run_dir) == snapshot(reference)


def test_contact_sheet_written_and_show_command(reference: Path, tmp_path: Path) -> None:
    from PIL import Image
    from tailorgen.cli import main

    sheet = reference / "contact_sheet.png"
    with Image.open(sheet) as img:
        assert img.width > 32
    out = tmp_path / "sheet.png"
    main(["show", str(reference), "--out", str(out), "--columns", "2", "--size", "40"])
    rows = len(_rows(reference / "synthetic" / "metadata.jsonl"))
    with Image.open(out) as img:
        assert img.width == 2 * 48
        assert img.height == -(-rows // 2) * (40 + 4 + 36 + 6)
    with pytest.raises(SystemExit) as exit_info:
        main(["show", str(tmp_path / "nothing")])
    assert exit_info.value.code == 1


def test_keep_rejected_loose_rule_and_fine_tuned_encoder(
    demo_models: dict[str, Path], tmp_path: Path
) -> None:
    from tailorgen.context import RunContext
    from tailorgen.stages import generate

    config = write_config(
        tmp_path / "loose.toml",
        demo_models,
        generate={"quota": 1, "max_attempts_per_label": 2, "keep_rejected": True},
        discriminator={"rule": "loose", "top_k": 2, "extra_threshold": 0.01},
    )
    run_dir = tmp_path / "run"
    write_prompts(run_dir)
    encoder = run_dir / "finetune" / "text_encoder"
    shutil.copytree(demo_models["sd"] / "text_encoder", encoder)
    ctx = RunContext(load_config(config), run_dir)
    assert generate.plan(ctx)["text_encoder"] == str(encoder)  # no model loaded for the plan
    summary = _generate(config, run_dir)
    assert summary["text_encoder"] == str(encoder)
    root = run_dir / "synthetic"
    rows = _rows(root / "metadata.jsonl")
    rejected = _rows(root / "rejected.jsonl")  # only surplus: kept rejected images are in metadata
    assert all(r["reason"] == "surplus" for r in rejected)
    assert len(rows) + len(rejected) == summary["attempts"]
    assert any(not r["accepted"] for r in rows)
    for row in rows:  # kept rejected images too, each with its file
        assert (root / row["file_name"]).is_file()
        assert row["labels"][: len(row["targets"])] == row["targets"]
        extras = row["labels"][len(row["targets"]) :]
        ranked = sorted(row["scores"], key=row["scores"].get, reverse=True)[:2]
        assert all(name in ranked and row["scores"][name] > 0.01 for name in extras)
    assert "fine-tuned, from" in (root / "README.md").read_text()
    assert "loose" in (root / "README.md").read_text()

    unused = load_config(config, ["generate.use_finetuned_text_encoder=false"])
    assert generate.plan(RunContext(unused, run_dir))["text_encoder"] == "stock"

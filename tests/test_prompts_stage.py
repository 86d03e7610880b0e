"""The prompts stage end to end: the tiny chat LM through the demo CLI, resume, API, plan, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from tailorgen.config import load_config
from tailorgen.data.labels import load_label_set
from tailorgen.errors import TailorgenError
from tailorgen.io import read_jsonl
from tailorgen.prompting import write_prompts
from tailorgen.prompting.matching import LabelMatcher

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "tiny.toml"


def tailorgen(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "tailorgen", *args], capture_output=True, text=True, env=full_env
    )


def demo(models: Path, out: Path) -> bytes:
    done = tailorgen("demo", "--models-dir", str(models), "--out", str(out), "--stages", "prompts")
    assert done.returncode == 0, done.stderr
    return (out / "prompts.jsonl").read_bytes()


@pytest.fixture(scope="module")
def models_dir(demo_models: dict[str, Path]) -> Path:
    return demo_models["lm"].parent


@pytest.fixture(scope="module")
def first_run(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prompts") / "run"
    demo(models_dir, out)
    return out


def test_demo_writes_valid_complete_prompts(first_run: Path, models_dir: Path) -> None:
    records = read_jsonl(first_run / "prompts.jsonl")
    labels = load_label_set(str(models_dir / "coco" / "labels.json"))
    matcher = LabelMatcher(labels)
    for record in records:
        assert {"set_id", "labels", "text", "writer", "seed", "attempt", "accepted", "reason", "path"} <= set(
            record
        )
        assert record["accepted"] == (record["reason"] is None)
    accepted = [r for r in records if r["accepted"]]
    assert all(not matcher.missing(r["text"], r["labels"]) for r in accepted)
    per_set = Counter(r["set_id"] for r in accepted)
    assert len(per_set) == 9  # 4 unseen labels: 4 singles + 6 pairs - 1 confusable pair
    assert set(per_set.values()) == {3}
    # the random tiny LM writes nonsense: it was asked, re-asked once, and template filled the sets
    assert {r["path"] for r in records if r["writer"] == "hf-chat"} == {"ask", "re-ask"}
    assert {r["writer"] for r in accepted} <= {"hf-chat", "template"}
    report = json.loads((first_run / "prompts_report.json").read_text())
    assert report["all"]["coverage"] == 1.0
    assert report["short_sets"] == []
    assert report["writers"]["hf-chat"]["rejected_by_reason"]


def test_same_config_gives_identical_bytes_and_rerun_skips(
    first_run: Path, models_dir: Path, tmp_path: Path
) -> None:
    before = (first_run / "prompts.jsonl").read_bytes()
    assert demo(models_dir, tmp_path / "again") == before
    rerun = tailorgen("demo", "--models-dir", str(models_dir), "--out", str(first_run), "--stages", "prompts")
    assert rerun.returncode == 0, rerun.stderr
    assert "9 of 9 label sets already written; 0 to go" in rerun.stderr
    assert "hf-chat:" not in rerun.stderr  # the LM was not even loaded
    assert (first_run / "prompts.jsonl").read_bytes() == before


@pytest.mark.parametrize("cut", ["mid-line", "set-boundary"])
def test_interrupted_run_resumes_without_duplicates(
    first_run: Path, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut: str
) -> None:
    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(models_dir))
    expected = (first_run / "prompts.jsonl").read_bytes()
    out = tmp_path / "run"
    out.mkdir()
    lines = expected.splitlines(keepends=True)
    if cut == "mid-line":  # a writer killed inside a line
        partial = b"".join(lines[: len(lines) // 2]) + lines[len(lines) // 2][:25]
    else:  # killed between two label sets
        last_set = json.loads(lines[-1])["set_id"]
        partial = b"".join(line for line in lines if json.loads(line)["set_id"] != last_set)
    (out / "prompts.jsonl").write_bytes(partial)
    summary = write_prompts(load_config(TINY), out)  # the Python API writes what the CLI wrote
    result = (out / "prompts.jsonl").read_bytes()
    keys = [(r["set_id"], r["path"], r["attempt"], r["text"]) for r in read_jsonl(out / "prompts.jsonl")]
    assert len(keys) == len(set(keys))
    assert result == expected
    assert summary["accepted"] == 27


def test_settings_changed_under_a_run_are_refused(first_run: Path, models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "prompts.jsonl").write_bytes((first_run / "prompts.jsonl").read_bytes())
    done = tailorgen(
        "demo", "--models-dir", str(models_dir), "--out", str(out), "--stages", "prompts",
        "--set", "prompts.min_words=4",
    )  # fmt: skip
    assert done.returncode == 1
    assert "written with other prompt settings" in done.stderr
    assert "Traceback" not in done.stderr


def test_embedding_diversity_with_a_local_encoder(models_dir: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'labels = "{models_dir / "coco" / "labels.json"}"\n[prompt_writer]\nplugin = "template"\n'
        f'[prompts]\nprompts_per_set = 4\nembedder = "{models_dir / "lm"}"\n'
    )
    write_prompts(cfg, tmp_path / "run")
    report = json.loads((tmp_path / "run" / "prompts_report.json").read_text())
    value = report["writers"]["template"]["embedding_diversity"]
    assert isinstance(value, float)
    assert 0.0 < value <= 2.0


def test_dry_run_of_paper_configs_needs_no_network() -> None:
    coco = tailorgen(
        "run", str(ROOT / "examples" / "coco-48-17.toml"), "--dry-run", "--json", "--stages", "prompts"
    )
    assert coco.returncode == 0, coco.stderr
    plan = json.loads(coco.stdout)["stages"]["prompts"]
    assert plan["label_sets"] == 149
    assert plan["prompts"] == 1490
    assert plan["model"] == load_config(ROOT / "examples" / "coco-48-17.toml").prompt_writer.options["model"]
    nus = tailorgen(
        "run", str(ROOT / "examples" / "nus-wide-925-81.toml"), "--dry-run", "--json", "--stages", "prompts"
    )
    assert nus.returncode == 0, nus.stderr
    assert json.loads(nus.stdout)["stages"]["prompts"]["label_sets"] == 81 + 81 * 80 // 2


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ('prompt_writer.options.instruction="Describe {things}"', "unknown field(s) ['things']"),
        ('prompts.sets=[["cat", "unicorn"]]', "names unknown label(s) ['unicorn']"),
        ('prompts.sets=[["cow", "elephant"]]', "pairs confusable labels"),
        ("prompts.exhaustive=false", "prompts.n_sets is required"),
        ("prompts.max_words=5", "max_words (5) is below min_words (10)"),
        ("prompts.k=0", "prompts.k: Input should be greater than or equal to 1"),
    ],
)
def test_bad_settings_fail_before_any_work(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, override: str, message: str
) -> None:
    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(models_dir))
    with pytest.raises(TailorgenError) as info:
        write_prompts(TINY, tmp_path / "r", overrides=(override,))
    assert message in str(info.value)
    assert not (tmp_path / "r" / "prompts.jsonl").exists()


def test_bad_settings_are_one_line_cli_errors(models_dir: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "r")
    done = tailorgen(
        "demo",
        "--models-dir",
        str(models_dir),
        "--out",
        out,
        "--stages",
        "prompts",
        "--set",
        'prompts.sets=[["cat", "x"]]',
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: prompts.sets: ")
    assert done.stderr.count("\n") == 1


def test_fingerprint_error_is_a_tailorgen_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('labels = "coco-48-17"\n[prompt_writer]\nplugin = "template"\n[prompts]\nn_sets = 2\n')
    write_prompts(cfg, tmp_path / "run")
    with pytest.raises(TailorgenError, match="other prompt settings"):
        write_prompts(cfg, tmp_path / "run", overrides=("prompts.prompts_per_set=3",))
    more = write_prompts(cfg, tmp_path / "run", overrides=("prompts.n_sets=3",))  # more sets: resumes
    assert more["label_sets"] == 3


def test_killed_run_resumes_to_the_same_file(first_run: Path, models_dir: Path, tmp_path: Path) -> None:
    """SIGKILL a real run after its first saved label set; the rerun completes it byte for byte.

    One set per chunk here (first_run used four): what a set gets must not depend on the chunking.
    """
    import signal
    import time

    out = tmp_path / "run"
    args = ["demo", "--models-dir", str(models_dir), "--out", str(out), "--stages", "prompts"]
    args += ["--set", "prompts.sets_per_chunk=1"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tailorgen", *args], env=env, stderr=subprocess.DEVNULL)
    target = out / "prompts.jsonl"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if target.exists() and target.stat().st_size > 0:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    killed_early = proc.returncode == -signal.SIGKILL
    done = tailorgen(*args)
    assert done.returncode == 0, done.stderr
    if killed_early:
        assert "label sets already written" in done.stderr
    assert target.read_bytes() == (first_run / "prompts.jsonl").read_bytes()

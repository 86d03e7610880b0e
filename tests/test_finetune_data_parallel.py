"""The finetune stage under torchrun (2 CPU processes, gloo): the same encoder as one process that
accumulates gradients over the same label sets, a kill of either rank resumes to the same encoder,
and ``data_parallel = "same-label-sets"`` draws exactly the label sets of a one-process run.

Every run uses one thread per process (torchrun's default), because CPU float results depend on
the thread count.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from generate_helpers import cli_env, run_cli
from safetensors.torch import load_file
from tailorgen.config import load_config
from tailorgen.context import RunContext
from tailorgen.errors import ConfigError
from tailorgen.finetune import CheckpointStore, PromptPool, train_text_encoder
from tailorgen.finetune.draw_plan import DrawPlan
from tailorgen.io import read_jsonl
from tailorgen.stages import finetune
from test_finetune_stage import _config, _run_dir

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
#: the settings every run here shares; lr is large so a few steps visibly move the tiny encoder
BASE = {"steps": 4, "checkpoint_every": 1, "keep_checkpoints": 10, "lr": 1e-3, "negative_prompt": "watermark"}


def _setup(root: Path, models: dict[str, Path], **opts) -> tuple[Path, Path]:
    root.mkdir(parents=True)
    return _config(root, models, **{**BASE, **opts}), _run_dir(root)


def _finetune(config: Path, run: Path, launcher: list[str] | None = None) -> None:
    result = run_cli("run", str(config), "--out", str(run), "--stages", "finetune", launcher=launcher)
    assert result.returncode == 0, result.stderr[-3000:]


def _encoder(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "finetune" / "text_encoder" / "model.safetensors"))


def _assert_same_encoder(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name, value in a.items():  # equal within float rounding: the gradient sums run in another order
        torch.testing.assert_close(value, b[name], rtol=1e-5, atol=1e-6, msg=name)


@pytest.fixture(scope="module")
def one_accumulating(tmp_path_factory, demo_models) -> Path:
    """One process, grad_accumulation = 2."""
    config, run = _setup(tmp_path_factory.mktemp("one") / "x", demo_models, grad_accumulation=2)
    _finetune(config, run)
    return run


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory, demo_models) -> Path:
    """Two processes, grad_accumulation = 1, data_parallel = "same-steps" (the default)."""
    config, run = _setup(tmp_path_factory.mktemp("two") / "x", demo_models)
    _finetune(config, run, TORCHRUN)
    return run


def test_two_processes_equal_one_process_accumulating_the_same_label_sets(
    one_accumulating: Path, two_processes: Path, demo_models
) -> None:
    one, two = (
        read_jsonl(one_accumulating / "finetune" / "log.jsonl"),
        read_jsonl(two_processes / "finetune" / "log.jsonl"),
    )
    assert [r["step"] for r in two] == [1, 2, 3, 4]
    assert [r["labels"] for r in two] == [r["labels"] for r in one]  # the same two label sets per step
    assert all(len(r["labels"]) == 2 and r["images"] == 2 for r in two)
    for a, b in zip(one, two, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
        assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-4)
    tuned = _encoder(two_processes)
    _assert_same_encoder(tuned, _encoder(one_accumulating))
    stock = load_file(str(demo_models["sd"] / "text_encoder" / "model.safetensors"))
    assert any(not torch.equal(tuned[k], stock[k]) for k in tuned)  # training did move the encoder
    summary = json.loads((two_processes / "finetune" / "summary.json").read_text())
    assert (summary["processes"], summary["steps"], summary["label_sets"]) == (2, 4, 8)
    # the rank-0-only files: one log, one set of checkpoints, no leftovers of a second writer
    assert sorted(p.name for p in (two_processes / "finetune" / "checkpoints").iterdir()) == [
        f"step-{n}" for n in (1, 2, 3, 4)
    ]


def _worker_pid(launcher_pid: int, rank: int) -> int | None:
    """The pid of torchrun's worker process with ``RANK=rank``, once it exists."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if parent == launcher_pid and f"RANK={rank}".encode() in environ:
            return int(entry.name)
    return None


@pytest.mark.parametrize("rank", [0, 1])
def test_a_killed_rank_resumes_to_the_same_encoder(
    two_processes: Path, demo_models, tmp_path: Path, rank: int
) -> None:
    config, run = _setup(tmp_path / "killed", demo_models)
    launch = [*TORCHRUN, "-m", "tailorgen", "run", str(config), "--out", str(run), "--stages", "finetune"]
    proc = subprocess.Popen(launch, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = run / "finetune" / "checkpoints" / "step-1" / "state.json"
    try:
        deadline, victim = time.monotonic() + 240, None
        while time.monotonic() < deadline and proc.poll() is None:
            victim = victim or _worker_pid(proc.pid, rank)
            if victim and checkpoint.exists():
                os.kill(victim, signal.SIGKILL)
                break
            time.sleep(0.02)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0, "the run ended before a rank could be killed"
    assert not (run / "finetune" / "summary.json").exists()
    assert len(read_jsonl(run / "finetune" / "log.jsonl")) < 4

    _finetune(config, run, TORCHRUN)
    assert read_jsonl(run / "finetune" / "log.jsonl") == read_jsonl(two_processes / "finetune" / "log.jsonl")
    resumed, clean = _encoder(run), _encoder(two_processes)
    assert all(torch.equal(resumed[k], clean[k]) for k in clean)


def test_same_label_sets_takes_the_one_process_draws_in_fewer_steps(tmp_path: Path, demo_models) -> None:
    config, run = _setup(tmp_path / "two", demo_models, data_parallel="same-label-sets")
    _finetune(config, run, TORCHRUN)
    log = read_jsonl(run / "finetune" / "log.jsonl")
    assert [r["step"] for r in log] == [1, 2]  # steps / N optimizer steps

    # exactly the label sets a one-process run with steps = 4 draws, in its order
    ctx = RunContext(load_config(config), run)
    pool = PromptPool.load(run / "prompts.jsonl", ctx.labels.unseen)
    single = [list(pool.draw(ctx.seed_for("finetune", "draw", step, 0))[0]) for step in range(4)]
    assert [labels for r in log for labels in r["labels"]] == single

    # and the encoder of one process accumulating over each pair of those draws
    settings = ctx.settings("finetune", finetune.Settings)
    generator, discriminator = ctx.create("generator"), ctx.create("discriminator")
    encoder = generator.trainable_text_encoder()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_text_encoder(
            encoder,
            finetune._objective(ctx, settings, generator, discriminator),
            finetune._trainer_config(ctx, settings, "reference"),
            store=CheckpointStore(tmp_path / "reference"),
            log=tmp_path / "reference.jsonl",
            save_encoder=generator.save_text_encoder,
            plan=DrawPlan(4, 1, world=2, mode="same-label-sets"),
        )
    finally:
        torch.set_num_threads(threads)
    reference = {k: v.detach() for k, v in encoder.state_dict().items()}
    tuned = _encoder(run)
    _assert_same_encoder(tuned, {k: reference[k] for k in tuned})


def test_same_steps_plan_is_one_process_with_n_times_the_accumulation() -> None:
    two, one = DrawPlan(5, 2, world=3), DrawPlan(5, 6)
    assert (two.optimizer_steps, two.draws_per_step, two.label_sets) == (5, 6, 30)
    for step in range(5):
        shares = [two.share(step, rank, 3) for rank in range(3)]
        assert [key for share in shares for key in share] == one.keys(step)
        assert all(len(share) == 2 for share in shares)


def test_same_label_sets_plan_draws_do_not_depend_on_the_process_count() -> None:
    single = [(step, micro) for step in range(8) for micro in range(2)]
    for world in (1, 2, 4, 8):
        plan = DrawPlan(8, 2, world=world, mode="same-label-sets")
        assert plan.optimizer_steps == 8 // world
        assert [key for step in range(plan.optimizer_steps) for key in plan.keys(step)] == single
        # each process makes whole single-process steps: its memory use is that of one process
        assert plan.share(0, world - 1, world) == [(world - 1, 0), (world - 1, 1)]


def test_same_label_sets_needs_steps_divisible_by_the_processes(
    tmp_path: Path, demo_models, monkeypatch
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "3")
    config, run = _setup(tmp_path / "x", demo_models, data_parallel="same-label-sets")
    with pytest.raises(ConfigError, match="steps = 4 is not a multiple of the 3 processes"):
        finetune.validate(RunContext(load_config(config), run))
    monkeypatch.setenv("WORLD_SIZE", "2")
    finetune.validate(RunContext(load_config(config), run))

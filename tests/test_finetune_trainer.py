"""The L_TE training loop on a toy model: non-finite skips, abort, checkpoints and exact resumption."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from tailorgen.errors import TailorgenError
from tailorgen.finetune import CheckpointStore, MicroStep, TrainerConfig, train_text_encoder
from tailorgen.io import read_jsonl


class _Toy(torch.nn.Module):
    """Stands in for a text encoder: saved the way the generator saves one (safetensors)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = torch.nn.Linear(4, 4)

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        save_file(self.state_dict(), str(directory / "model.safetensors"))


def _compute(model: _Toy, nan_at: set[int] = frozenset(), crash_at: int | None = None):
    def compute(step: int, micro: int) -> MicroStep:
        if step == crash_at:
            raise KeyboardInterrupt
        x = torch.randn(3, 4)  # drawn from the per-step seed the trainer sets
        loss = (model.layer(x) - 1).pow(2).mean()
        if step in nan_at:
            loss = loss * float("nan")
        return MicroStep(loss=loss, accepted=int(step % 2 == 0), images=1)

    return compute


def _train(tmp: Path, model: _Toy, steps: int, **kw) -> dict:
    compute = _compute(model, kw.pop("nan_at", set()), kw.pop("crash_at", None))
    config = TrainerConfig(steps=steps, lr=0.05, checkpoint_every=2, **kw)
    store = CheckpointStore(tmp / "checkpoints")
    return train_text_encoder(
        model, compute, config, store=store, log=tmp / "log.jsonl", save_encoder=model.save
    )


def test_nan_loss_is_skipped_and_counted(tmp_path: Path) -> None:
    model = _Toy()
    before = {}

    def remember(step: int, micro: int) -> MicroStep:
        before[step] = model.layer.weight.detach().clone()
        return inner(step, micro)

    inner = _compute(model, nan_at={2})
    config = TrainerConfig(steps=4, lr=0.05, checkpoint_every=10)
    summary = train_text_encoder(
        model,
        remember,
        config,
        store=CheckpointStore(tmp_path / "c"),
        log=tmp_path / "log.jsonl",
        save_encoder=model.save,
    )
    log = read_jsonl(tmp_path / "log.jsonl")
    assert [r["skipped"] for r in log] == [False, False, True, False]
    assert log[2]["loss"] is None
    assert summary["skipped_steps"] == 1
    assert torch.equal(before[2], before[3])  # the poisoned step changed nothing
    assert not torch.equal(before[1], before[2])
    assert all(math.isfinite(v) for v in model.layer.weight.flatten().tolist())


def test_a_run_of_nonfinite_steps_aborts_clearly(tmp_path: Path) -> None:
    with pytest.raises(TailorgenError, match="3 steps in a row had a non-finite"):
        _train(tmp_path, _Toy(), 10, nan_at={1, 2, 3, 4}, max_consecutive_nonfinite=3)


def test_resume_continues_the_same_run(tmp_path: Path) -> None:
    clean = _Toy()
    _train(tmp_path / "clean", clean, 6)
    resumed = _Toy()
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "resumed", resumed, 6, crash_at=5)  # after the step-4 checkpoint
    assert CheckpointStore(tmp_path / "resumed" / "checkpoints").latest() == 4
    assert len(read_jsonl(tmp_path / "resumed" / "log.jsonl")) == 5
    fresh = _Toy()  # a new process: stock weights, restored from the checkpoint
    summary = _train(tmp_path / "resumed", fresh, 6)
    assert summary["resumed_from"] == 4
    assert read_jsonl(tmp_path / "resumed" / "log.jsonl") == read_jsonl(tmp_path / "clean" / "log.jsonl")
    assert torch.equal(fresh.layer.weight, clean.layer.weight)


def test_resume_refuses_checkpoints_from_other_settings(tmp_path: Path) -> None:
    _train(tmp_path, _Toy(), 2, fingerprint="a")
    with pytest.raises(TailorgenError, match="different \\[finetune\\] settings"):
        _train(tmp_path, _Toy(), 4, fingerprint="b")


def test_old_checkpoints_are_pruned(tmp_path: Path) -> None:
    _train(tmp_path, _Toy(), 8)
    assert CheckpointStore(tmp_path / "checkpoints").steps() == [6, 8]


def test_gradient_accumulation_averages_micro_batches(tmp_path: Path) -> None:
    def loss_of(model: _Toy, step: int, micro: int) -> torch.Tensor:
        x = torch.full((2, 4), float(step + 2 * micro + 1))
        return (model.layer(x) - micro).pow(2).mean()

    accumulated, merged = _Toy(), _Toy()
    two = TrainerConfig(steps=3, lr=0.01, grad_accumulation=2, checkpoint_every=10)
    one = TrainerConfig(steps=3, lr=0.01, checkpoint_every=10)

    def micro(step: int, m: int) -> MicroStep:
        return MicroStep(loss=loss_of(accumulated, step, m), accepted=1, images=1)

    def both(step: int, m: int) -> MicroStep:
        loss = (loss_of(merged, step, 0) + loss_of(merged, step, 1)) / 2
        return MicroStep(loss=loss, accepted=2, images=2)

    for model, compute, config, name in ((accumulated, micro, two, "a"), (merged, both, one, "b")):
        store = CheckpointStore(tmp_path / name / "c")
        train_text_encoder(
            model, compute, config, store=store, log=tmp_path / name / "log", save_encoder=model.save
        )
    torch.testing.assert_close(accumulated.layer.weight, merged.layer.weight)
    assert [r["images"] for r in read_jsonl(tmp_path / "a" / "log")] == [2, 2, 2]


def test_a_non_finite_gradient_with_a_finite_loss_is_skipped(tmp_path: Path) -> None:
    model = _Toy()
    start = model.layer.weight.detach().clone()

    def compute(step: int, micro: int) -> MicroStep:
        gap = model.layer.weight - model.layer.weight.detach()
        return MicroStep(loss=gap.pow(2).sum().sqrt(), accepted=0, images=1)  # 0, with a NaN gradient

    config = TrainerConfig(steps=2, lr=0.05, checkpoint_every=10)
    store = CheckpointStore(tmp_path / "c")
    summary = train_text_encoder(
        model, compute, config, store=store, log=tmp_path / "log", save_encoder=model.save
    )
    assert summary["skipped_steps"] == 2
    assert [r["loss"] for r in read_jsonl(tmp_path / "log")] == [None, None]
    assert torch.equal(model.layer.weight, start)

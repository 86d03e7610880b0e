"""The classifier's lr schedule and checkpoint selection against the reference code's own path.

The reference (Diff-ZS-MLC's classification code on DualCoOp + Dassl) builds
``ConstantWarmupScheduler(CosineAnnealingLR(T_max=epochs), warmup_epoch=1, cons_lr=1e-5)`` and calls
``sched.step()`` at the end of both the real and the synthetic pass of every epoch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tailorgen.classifier.best_epochs import BestEpochs
from tailorgen.classifier.checkpoints import TrainCheckpoints
from tailorgen.classifier.training import FitConfig, Phase, fit
from tailorgen.io import read_jsonl
from torch import nn

BASE = [0.002, 1e-4]  # COCO: contexts, fusion branches


def reference_lrs(epochs: int, base_lrs: list[float], warmup_lr: float = 1e-5) -> list[list[float]]:
    """Each pass's lrs as the reference gets them: torch's CosineAnnealingLR inside Dassl's constant
    warm-up wrapper, stepped after each of the two passes of every epoch.

    The wrapper counts its own steps: while that count is below ``warmup_epoch`` (1) every group is at
    ``cons_lr``; its first step (count 0 -> 1) hands over the cosine's current lrs (the base lrs)
    without stepping it; every later step steps the cosine.
    """
    params = [nn.Parameter(torch.zeros(1)) for _ in base_lrs]
    sgd = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, base_lrs, strict=True)])
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(sgd, T_max=float(epochs))
    for group in sgd.param_groups:  # the wrapper's constructor: count 0, constant lr
        group["lr"] = warmup_lr
    count, out = 0, []
    for _epoch in range(epochs):
        for _pass in ("real", "synthetic"):
            out.append([group["lr"] for group in sgd.param_groups])
            sgd.step()  # (no gradients: changes nothing; keeps torch's step order)
            if count >= 1:
                cosine.step()
            else:
                for group, lr in zip(sgd.param_groups, cosine.get_last_lr(), strict=True):
                    group["lr"] = lr
            count += 1
    return out


class _Fake(nn.Module):
    """The classifier interface ``fit`` uses, with one context and one fusion parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.context = nn.Parameter(torch.zeros(3))
        self.fusion = nn.Parameter(torch.zeros(3))

    def context_parameters(self) -> list[nn.Parameter]:
        return [self.context]

    def fusion_parameters(self) -> list[nn.Parameter]:
        return [self.fusion]

    def text_features_for(self, names: list[str]) -> int:
        return len(names)

    def logits(self, images: torch.Tensor, count: int) -> torch.Tensor:
        positive = images.flatten(1).mean(1, keepdim=True) * self.context.sum() + self.fusion.sum()
        return torch.stack([-positive, positive], dim=1).expand(-1, -1, count)


def _fit(tmp_path: Path, epochs: int, validate=None, **config) -> tuple[dict, list[dict]]:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(4, 3, 2, 2), torch.ones(4, 2))
    phases = [Phase("real", data, ["a", "b"]), Phase("synthetic", data, ["c", "d"])]
    settings = FitConfig(
        epochs=epochs, batch_size=4, lr_context=BASE[0], lr_fusion=BASE[1], cpu=True, **config
    )
    checkpoints = TrainCheckpoints(tmp_path / "checkpoints", "test", keep=epochs)
    summary = fit(
        _Fake(),
        phases,
        settings,
        checkpoints=checkpoints,
        seed_for=lambda *parts: len(parts),
        validate=validate,
        log_path=tmp_path / "log.jsonl",
    )
    return summary, read_jsonl(tmp_path / "log.jsonl")


def test_the_reference_schedule_reaches_zero_at_epoch_25_and_climbs_back() -> None:
    lrs = [pass_lrs[0] / BASE[0] for pass_lrs in reference_lrs(50, BASE)]
    assert lrs[0] == pytest.approx(1e-5 / BASE[0])  # epoch 1's real pass only
    assert lrs[1] == pytest.approx(1.0)  # epoch 1's synthetic pass already at the base lr
    assert lrs[2 * 25 + 1] == pytest.approx(0.0, abs=1e-12)  # epoch 26 (index 25), synthetic pass
    assert lrs[2 * 49 + 1] == pytest.approx(0.996, abs=5e-4)  # the last pass: back near the base lr


def test_schedule_step_pass_gives_the_reference_lr_at_every_pass(tmp_path: Path) -> None:
    epochs = 50
    _, log = _fit(tmp_path, epochs, warmup_epochs=1, warmup_lr=1e-5, schedule_step="pass")
    mine = [entry["pass_lr"][name] for entry in log for name in ("real", "synthetic")]
    expected = reference_lrs(epochs, BASE)
    assert len(mine) == len(expected) == 2 * epochs
    for got, want in zip(mine, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_schedule_step_epoch_is_one_cosine_over_the_epochs(tmp_path: Path) -> None:
    epochs = 6
    _, log = _fit(tmp_path, epochs, warmup_epochs=1, warmup_lr=1e-5)
    reference = reference_lrs(epochs, BASE)
    assert log[0]["pass_lr"]["synthetic"] == pytest.approx([1e-5, 1e-5])  # the whole first epoch
    assert log[0]["pass_lr"]["synthetic"] != pytest.approx(reference[1])
    for epoch, entry in enumerate(log[1:], start=1):
        factor = (1 + torch.cos(torch.tensor(torch.pi * (epoch - 1) / epochs)).item()) / 2
        assert entry["pass_lr"]["real"] == entry["pass_lr"]["synthetic"]
        assert entry["pass_lr"]["real"] == pytest.approx([lr * factor for lr in BASE])


def test_zsl_and_gzsl_selections_keep_their_own_best_epochs(tmp_path: Path) -> None:
    scores = iter([{"zsl": 1.0, "gzsl": 5.0}, {"zsl": 3.0, "gzsl": 4.0}, {"zsl": 2.0, "gzsl": 6.0}])
    summary, log = _fit(tmp_path, 3, validate=lambda model: next(scores))
    assert summary["best_epoch"] == 2
    assert summary["best_val_map"] == 3.0
    assert summary["selections"] == {"zsl": {"epoch": 2, "score": 3.0}, "gzsl": {"epoch": 3, "score": 6.0}}
    root = tmp_path / "checkpoints"
    for stem, epoch in (("best", 2), ("best-gzsl", 3)):
        best, trained = (
            load_file(str(root / f"{stem}.safetensors")),
            load_file(str(root / f"epoch-{epoch}" / "trainable.safetensors")),
        )
        assert all(torch.equal(best[k], trained[k]) for k in trained)
    assert [entry["best_epoch"] for entry in log] == [1, 2, 2]
    resumed = BestEpochs(json.loads((root / "epoch-3" / "state.json").read_text()))
    assert resumed.scores == {"zsl": (3.0, 2), "gzsl": (6.0, 3)}


def test_a_single_selection_record_still_resumes() -> None:
    old = BestEpochs({"best_metric": 7.5, "best_epoch": 4})
    assert old.primary == (7.5, 4)
    saved: list[str] = []
    old.update(7.0, 5, saved.append)
    old.update(8.0, 6, saved.append)
    assert saved == ["best"]
    assert old.primary == (8.0, 6)

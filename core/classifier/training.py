"""The classifier's training loop: phases of (data, label names) per epoch, SGD + cosine, accelerate.

One epoch runs every phase once, in order (the paper's ``alternate`` mode: real images with the
loss on seen labels, then synthetic images with the loss on unseen labels; ``proxyless``: synthetic
only). The learning rate is constant (``warmup_lr``) for ``warmup_epochs`` epochs, then follows a
cosine schedule stepped once per epoch (or after every pass: ``tailorgen.classifier.schedule``). Validation picks the best epoch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from tailorgen.classifier.best_epochs import BestEpochs
from tailorgen.classifier.checkpoints import TrainCheckpoints
from tailorgen.classifier.loss import softmax_asymmetric_loss
from tailorgen.classifier.schedule import ScheduleStep, factors
from tailorgen.io import append_jsonl, atomic_write_text, read_jsonl
from tailorgen.runtime.progress import progress
from torch import nn

__all__ = ["FitConfig", "Phase", "TrainStep", "fit"]

logger = logging.getLogger(__name__)


@dataclass
class Phase:
    """One pass over ``dataset`` per epoch, with the loss on ``label_names`` (its target columns)."""

    name: str
    dataset: Any
    label_names: list[str]
    #: score a random subset of this many ``label_names`` per batch (None: all of them)
    labels_per_batch: int | None = None


@dataclass
class FitConfig:
    epochs: int
    batch_size: int
    lr_context: float
    lr_fusion: float
    momentum: float = 0.9
    weight_decay: float = 5e-4
    mixed_precision: str = "no"
    cpu: bool = False  # train on the CPU even where CUDA is available
    num_workers: int = 0
    gamma_neg: float = 2.0
    gamma_pos: float = 1.0
    loss_clip: float = 0.05
    loss_weight: float = 0.01
    warmup_epochs: int = 0
    warmup_lr: float = 1e-5
    #: when the scheduler steps: once per epoch, or after every pass (the reference)
    schedule_step: ScheduleStep = "epoch"
    loss_eps: float = 1e-8


class TrainStep(nn.Module):
    """The classifier's training forward (logits for a label subset), as a module DDP can wrap."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, images: torch.Tensor, label_names: list[str]) -> torch.Tensor:
        model = self.classifier
        return model.logits(images, model.text_features_for(label_names))


def _seed_worker(worker_id: int) -> None:
    import random

    import numpy as np

    seed = torch.initial_seed() % 2**32  # set per worker by the loader's seeded generator
    random.seed(seed)
    np.random.seed(seed)


def _optimizer(model: Any, config: FitConfig) -> torch.optim.SGD:
    groups = [
        {"params": params, "lr": lr}
        for params, lr in (
            (model.context_parameters(), config.lr_context),
            (model.fusion_parameters(), config.lr_fusion),
        )
        if params
    ]
    return torch.optim.SGD(groups, momentum=config.momentum, weight_decay=config.weight_decay)


def _schedule(sgd: torch.optim.SGD, config: FitConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """``warmup_lr`` for every group for ``warmup_epochs`` scheduler steps, then each group's cosine
    (as DualCoOp's constant warm-up: the cosine keeps its length ``epochs`` and starts at the base lr)."""
    return torch.optim.lr_scheduler.LambdaLR(
        sgd,
        factors(
            [group["lr"] for group in sgd.param_groups],
            epochs=config.epochs,
            warmup_steps=config.warmup_epochs,
            warmup_lr=config.warmup_lr,
        ),
    )


def fit(
    model: Any,
    phases: list[Phase],
    config: FitConfig,
    *,
    checkpoints: TrainCheckpoints,
    seed_for: Callable[..., int],
    validate: Callable[[Any], float | dict[str, float]] | None = None,
    log_path: Any = None,
) -> dict[str, Any]:
    """Train ``model``'s contexts and fusion head in place; leaves the best epoch's weights loaded."""
    from accelerate import Accelerator

    cpu = config.cpu or not torch.cuda.is_available()
    accelerator = Accelerator(cpu=cpu, mixed_precision=config.mixed_precision)
    main = accelerator.is_main_process
    model.to(accelerator.device)  # before a checkpoint's momentum buffers are restored onto its parameters
    sgd = _optimizer(model, config)
    # Not prepared by accelerate: its wrapper would step the schedule once per process.
    scheduler = _schedule(sgd, config)
    record = checkpoints.load(model, sgd, scheduler) or {}
    start = int(record.get("epoch", 0))
    bests = BestEpochs(record)
    if start:
        logger.info(f"[train] resuming after epoch {start}/{config.epochs}")
    if log_path is not None and main:  # forget epochs logged after the checkpoint we resume from
        kept = [entry for entry in read_jsonl(log_path) if entry.get("epoch", 0) <= start]
        atomic_write_text(log_path, "".join(json.dumps(entry) + "\n" for entry in kept))
    step_module, optimizer = accelerator.prepare(TrainStep(model), sgd)
    loop = _Loop(accelerator, step_module, optimizer, config, seed_for)
    for epoch in range(start, config.epochs):
        model.train()
        losses, lrs = {}, {}
        for phase in phases:
            lrs[phase.name] = [group["lr"] for group in sgd.param_groups]
            losses[phase.name] = _run_phase(loop, phase, epoch)
            if config.schedule_step == "pass":
                scheduler.step()
        if config.schedule_step == "epoch":
            scheduler.step()
        model.eval()
        scores = validate(model) if validate is not None and main else None
        if main:
            bests.update(scores, epoch + 1, lambda stem: checkpoints.save_best(model, stem))
            checkpoints.save(epoch + 1, model, sgd, scheduler, bests.record())
            metric = scores if not isinstance(scores, dict) else next(iter(scores.values()))
            entry = {
                "epoch": epoch + 1,
                "loss": losses,
                "lr": lrs[phases[0].name],  # at the epoch's first pass
                "pass_lr": lrs,
                "val_map": metric,
                "best_epoch": bests.primary[1],
                **({"val_scores": scores} if isinstance(scores, dict) else {}),
            }
            if log_path is not None:
                append_jsonl(log_path, [entry])
            shown = ", ".join(f"{k} loss {v:.4f}" for k, v in losses.items() if v is not None)
            logger.info(
                f"[train] epoch {epoch + 1}/{config.epochs}: {shown}"
                + (f", val {_shown(scores)}" if metric is not None else "")
            )
        accelerator.wait_for_everyone()
    checkpoints.load_best(model)
    model.eval()
    best, best_epoch = bests.primary
    return {
        "epochs": config.epochs,
        "best_epoch": best_epoch,
        "best_val_map": best,
        **({"selections": bests.summary()} if len(bests.scores) > 1 else {}),
        "processes": accelerator.num_processes,
    }


def _shown(scores: float | dict[str, float]) -> str:
    """``63.20`` or ``zsl 63.20, gzsl 41.00`` (the selection score; mAP or F1@3 as configured)."""
    if isinstance(scores, dict):
        return ", ".join(f"{name} {value:.2f}" for name, value in scores.items())
    return f"{scores:.2f}"


class _LabelDraws:
    """The label columns each batch of a phase scores: all, or a fresh random subset per batch.

    DualCoOp's ``num_train_cls``: on NUS-WIDE each real batch scores 100 random seen labels of 925,
    so the real pass does not outweigh the synthetic one by the label count alone.
    """

    def __init__(self, phase: Phase, seed: int) -> None:
        self.names = phase.label_names
        count = phase.labels_per_batch
        self.count = count if count is not None and count < len(self.names) else None
        self.generator = torch.Generator().manual_seed(seed)

    def next_batch(self, targets: torch.Tensor) -> tuple[list[str], torch.Tensor]:
        if self.count is None:
            return self.names, targets
        picked = torch.randperm(len(self.names), generator=self.generator)[: self.count].sort().values
        return [self.names[i] for i in picked.tolist()], targets[:, picked.to(targets.device)]


@dataclass
class _Loop:
    """What every training pass uses."""

    accelerator: Any
    step_module: Any
    optimizer: Any
    config: FitConfig
    seed_for: Callable[..., int]


def _run_phase(loop: _Loop, phase: Phase, epoch: int) -> float | None:
    """One pass over ``phase``; returns its mean loss (None if it had no batch)."""
    accelerator, config, seed_for = loop.accelerator, loop.config, loop.seed_for
    generator = torch.Generator().manual_seed(seed_for("train", "shuffle", phase.name, epoch))
    loader = torch.utils.data.DataLoader(
        phase.dataset,
        batch_size=config.batch_size,
        shuffle=True,
        generator=generator,
        num_workers=config.num_workers,
        worker_init_fn=_seed_worker,
        pin_memory=torch.cuda.is_available(),
        drop_last=False,
    )
    loader = accelerator.prepare_data_loader(loader)
    # Augmentation in the main process draws from the global RNG: seed it per epoch, phase and rank.
    torch.manual_seed(seed_for("train", "augment", phase.name, epoch, accelerator.process_index))
    total, count = 0.0, 0
    main = accelerator.is_main_process
    columns = _LabelDraws(phase, seed_for("train", "labels", phase.name, epoch, accelerator.process_index))
    bar = progress(loader, desc=f"epoch {epoch + 1} {phase.name}", unit="batch") if main else loader
    for images, all_targets in bar:
        names, targets = columns.next_batch(all_targets)
        logits = loop.step_module(images, names)
        loss = softmax_asymmetric_loss(
            logits,
            targets,
            gamma_neg=config.gamma_neg,
            gamma_pos=config.gamma_pos,
            clip=config.loss_clip,
            weight=config.loss_weight,
            eps=config.loss_eps,
        )
        loop.optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        loop.optimizer.step()
        total, count = total + float(loss.detach()), count + 1
        if main:
            bar.set_postfix(loss=f"{total / count:.4f}")
    return total / count if count else None

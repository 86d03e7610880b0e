"""The L_TE optimisation loop: accumulation, clipping, non-finite skips, logging, checkpoints, resume.

It knows nothing about diffusion or CLIP: ``compute(step, micro)`` returns one draw's loss, where
``(step, micro)`` is the draw's key in a :class:`~tailorgen.finetune.draw_plan.DrawPlan`. Torch is
reseeded from the run seed and the key before every draw, so a resumed run draws exactly what an
uninterrupted one would, and the log (``log.jsonl``) is cut back to the checkpoint it resumes from.

Data parallel (torchrun / accelerate launch): every process makes its share of a step's draws,
divides each loss by the step's total draw count and backpropagates; the gradients are then summed
over processes, so every process holds the same averaged gradient, takes the same clipped AdamW step
and keeps identical weights without a DDP wrapper. The main process alone writes the log and the
checkpoints; every process resumes from the checkpoint the main process names.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from tailorgen.context import derive_seed
from tailorgen.errors import TailorgenError
from tailorgen.finetune.checkpoints import CheckpointStore
from tailorgen.finetune.draw_plan import DrawKey, DrawPlan
from tailorgen.io import append_jsonl, atomic_write_text, read_jsonl
from tailorgen.runtime.distributed import Processes
from tailorgen.runtime.progress import progress
from tqdm.auto import tqdm

__all__ = ["MicroStep", "TrainerConfig", "train_text_encoder"]

MixedPrecision = Literal["no", "bf16", "fp16"]


@dataclass(frozen=True)
class TrainerConfig:
    steps: int
    lr: float = 7e-8
    weight_decay: float = 1e-3
    max_grad_norm: float = 1.0
    grad_accumulation: int = 1
    max_consecutive_nonfinite: int = 20
    checkpoint_every: int = 500
    mixed_precision: MixedPrecision = "no"
    #: fp16 only: the initial loss scale (lowered on overflow, raised after 2000 clean steps)
    loss_scale: float = 1024.0
    seed: int = 0
    #: settings a resumed run must share with the checkpoint it resumes from
    fingerprint: str = ""


@dataclass
class MicroStep:
    """One micro-batch: its loss (a scalar with grad) and how many of its images the filter accepts."""

    loss: torch.Tensor
    accepted: int
    images: int
    #: the label set drawn, recorded in the log
    labels: tuple[str, ...] = ()
    #: the labels the filter gave the accepted images, one per image and label (for a shrinking pool)
    credited: tuple[str, ...] = ()


@dataclass
class _Totals:
    skipped: int = 0
    consecutive: int = 0
    accepted: int = 0
    images: int = 0

    def add(self, record: dict[str, Any]) -> None:
        self.skipped += record["skipped"]
        self.consecutive = self.consecutive + 1 if record["skipped"] else 0
        self.accepted += record["accepted"]
        self.images += record["images"]


def _mean_loss(records: Iterable[dict[str, Any]]) -> float | None:
    losses = [r["loss"] for r in records if r["loss"] is not None]
    return sum(losses) / len(losses) if losses else None


def _accept_rate(records: Iterable[dict[str, Any]]) -> float:
    images = sum(r["images"] for r in records)
    return sum(r["accepted"] for r in records) / images if images else 0.0


def _resume(
    store: CheckpointStore,
    log: Path,
    *,
    encoder: Any,
    optimizer: Any,
    scaler: Any,
    config: TrainerConfig,
    procs: Processes,
) -> tuple[int, list[dict[str, Any]]]:
    """Load the latest checkpoint on every process; return its step and the log records up to it."""
    # the main process names the checkpoint: on a shared filesystem others may see a stale listing
    start = procs.broadcast(store.latest() if procs.is_main else None)
    if start is not None:
        state = store.load(start, encoder, optimizer)
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        if state.get("fingerprint") != config.fingerprint:
            raise TailorgenError(
                f"fine-tuning checkpoints in {store.root} were made with different [finetune] settings "
                "or a different number of processes",
                "restore the settings and process count, use a new --out folder, or delete the finetune/ "
                "folder to start over",
            )
    kept: list[dict[str, Any]] | None = None
    if procs.is_main:
        kept = [r for r in read_jsonl(log) if r["step"] <= (start or 0)]
        atomic_write_text(log, "".join(json.dumps(r) + "\n" for r in kept))
    return start or 0, procs.broadcast(kept)


def _autocast(device: torch.device, mode: MixedPrecision) -> contextlib.AbstractContextManager[Any]:
    if mode == "no":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if mode == "bf16" else torch.float16)


def _sum_gradients(params: list[torch.nn.Parameter], procs: Processes) -> None:
    """Sum gradients over processes; a gradient missing on one process counts as zero there."""
    if procs.world == 1:
        return
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=params[0].device)
    procs.sum_([has])  # the same set of parameters on every process, or the reductions would not match
    for param, flag in zip(params, has.tolist(), strict=True):
        if flag and param.grad is None:
            param.grad = torch.zeros_like(param)
    procs.sum_([p.grad for p in params if p.grad is not None])


def _draw(
    keys: list[DrawKey],
    total: int,
    compute: Callable[[int, int], MicroStep],
    config: TrainerConfig,
    *,
    scaler: torch.amp.GradScaler,
    device: torch.device,
) -> list[dict[str, Any]]:
    """This process's draws of one step: forward, and backward of ``loss / total`` while finite."""
    draws = []
    for key in keys:
        torch.manual_seed(derive_seed(config.seed, "finetune-draw", *key))
        with _autocast(device, config.mixed_precision):
            out = compute(*key)
        loss = float(out.loss.detach())
        draws.append(
            {
                "key": key,
                "loss": loss,
                "accepted": out.accepted,
                "images": out.images,
                "labels": list(out.labels),
                "credited": list(out.credited),
            }
        )
        if not math.isfinite(loss):
            break  # a non-finite loss poisons the whole step: skip it
        scaler.scale(out.loss / total).backward()
    return draws


def _optimizer_step(
    step: int,
    plan: DrawPlan,
    compute: Callable[[int, int], MicroStep],
    config: TrainerConfig,
    *,
    params: list[torch.nn.Parameter],
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    procs: Processes,
) -> dict[str, Any]:
    """Accumulate the step's draws over processes, clip, and step unless anything is non-finite."""
    optimizer.zero_grad(set_to_none=True)
    keys = plan.share(step, procs.rank, procs.world)
    mine = _draw(keys, plan.draws_per_step, compute, config, scaler=scaler, device=device)
    # every process sees every draw's loss, so all of them take the same skip decision
    draws = sorted((d for part in procs.gather(mine) for d in part), key=lambda d: d["key"])
    losses = [d["loss"] for d in draws]
    finite = all(map(math.isfinite, losses))
    norm = float("nan")
    if finite:
        _sum_gradients(params, procs)
        scaler.unscale_(optimizer)
        norm = float(torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm))
        finite = math.isfinite(norm)  # the summed gradient is identical everywhere, and so is the norm
        if finite:
            scaler.step(optimizer)
        scaler.update()  # fp16: halves the loss scale after an overflow (needs the unscale_ above)
    optimizer.zero_grad(set_to_none=True)
    return {
        "step": step + 1,
        "loss": sum(losses) / len(losses) if finite else None,
        "grad_norm": norm if finite else None,
        "accepted": sum(d["accepted"] for d in draws),
        "images": sum(d["images"] for d in draws),
        "skipped": not finite,
        "labels": [d["labels"] for d in draws],
        "credited": [d.get("credited", []) for d in draws],
    }


def train_text_encoder(
    encoder: torch.nn.Module,
    compute: Callable[[int, int], MicroStep],
    config: TrainerConfig,
    *,
    store: CheckpointStore,
    log: Path,
    save_encoder: Callable[[Path], Any],
    plan: DrawPlan | None = None,
    procs: Processes | None = None,
) -> dict[str, Any]:
    """Run (or resume) ``plan.optimizer_steps`` optimizer steps of ``encoder``; return a summary.

    ``plan`` defaults to ``config.steps`` steps of ``config.grad_accumulation`` draws; ``procs`` to
    this process alone. The summary's ``acceptance_rate`` covers the whole run, ``running_*`` the
    last 50 steps.
    """
    plan = plan or DrawPlan(config.steps, config.grad_accumulation)
    procs = procs or Processes()
    params = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    device = params[0].device
    scaler = torch.amp.GradScaler(
        device.type, init_scale=config.loss_scale, enabled=config.mixed_precision == "fp16"
    )
    start, done = _resume(
        store, log, encoder=encoder, optimizer=optimizer, scaler=scaler, config=config, procs=procs
    )
    totals = _Totals()
    recent: deque[dict[str, Any]] = deque(maxlen=50)  # the progress bar shows a running window
    # an objective whose draws depend on earlier outcomes (a shrinking label pool) sees every step's
    # record, the resumed ones first; the records are the same on every process
    observe = getattr(compute, "observe", None)
    for record in done:
        totals.add(record)
        recent.append(record)
        if observe is not None:
            observe(record)
    steps = plan.optimizer_steps
    # one bar for the whole launch: only the main process draws it
    bar = progress(total=steps, initial=start, desc="finetune") if procs.is_main else tqdm(disable=True)
    encoder.train()
    for step in range(start, steps):
        record = _optimizer_step(
            step,
            plan,
            compute,
            config,
            params=params,
            optimizer=optimizer,
            scaler=scaler,
            device=device,
            procs=procs,
        )
        if procs.is_main:
            append_jsonl(log, [record])
        if observe is not None:
            observe(record)
        totals.add(record)
        recent.append(record)
        bar.update(1)
        mean = _mean_loss(recent)
        bar.set_postfix(
            loss="-" if mean is None else f"{mean:.4f}",
            accept=f"{_accept_rate(recent):.0%}",
            skipped=totals.skipped,
        )
        if totals.consecutive >= config.max_consecutive_nonfinite:
            bar.close()
            raise TailorgenError(
                f"fine-tuning stopped at step {step + 1}: {totals.consecutive} steps in a row had a non-finite "
                "loss or gradient",
                "lower [finetune] lr, use mixed_precision = 'no' or 'bf16', or check the generator's dtype",
            )
        if procs.is_main and ((step + 1) % config.checkpoint_every == 0 or step + 1 == steps):
            extra = {"fingerprint": config.fingerprint, "scaler": scaler.state_dict()}
            store.save(step + 1, save_encoder, optimizer, extra)
    bar.close()
    return {
        "steps": steps,
        "label_sets": plan.label_sets,
        "processes": procs.world,
        "resumed_from": start,
        "skipped_steps": totals.skipped,
        "acceptance_rate": totals.accepted / max(totals.images, 1),
        "running_loss": _mean_loss(recent),
        "running_acceptance": _accept_rate(recent),
    }

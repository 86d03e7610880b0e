"""The L_TE optimisation loop: accumulation, clipping, non-finite skips, logging, checkpoints, resume.

It knows nothing about diffusion or CLIP: ``compute(step, micro)`` returns one micro-batch's loss.
Every step reseeds torch from the run seed and the step number, so a resumed run draws exactly what
an uninterrupted one would, and the log (``log.jsonl``) is cut back to the checkpoint it resumes from.
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
from tailorgen.io import append_jsonl, atomic_write_text, read_jsonl
from tailorgen.progress import progress

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
    store: CheckpointStore, log: Path, *, encoder: Any, optimizer: Any, scaler: Any, config: TrainerConfig
) -> int:
    start = store.latest()
    if start is not None:
        state = store.load(start, encoder, optimizer)
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        if state.get("fingerprint") != config.fingerprint:
            raise TailorgenError(
                f"fine-tuning checkpoints in {store.root} were made with different [finetune] settings",
                "restore the settings, use a new --out folder, or delete the finetune/ folder to start over",
            )
    kept = [r for r in read_jsonl(log) if r["step"] <= (start or 0)]
    atomic_write_text(log, "".join(json.dumps(r) + "\n" for r in kept))
    return start or 0


def _autocast(device: torch.device, mode: MixedPrecision) -> contextlib.AbstractContextManager[Any]:
    if mode == "no":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if mode == "bf16" else torch.float16)


def _optimizer_step(
    step: int,
    compute: Callable[[int, int], MicroStep],
    config: TrainerConfig,
    *,
    params: list[torch.nn.Parameter],
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
) -> dict[str, Any]:
    """Accumulate micro-batches, clip, and step unless the loss or gradient is non-finite."""
    optimizer.zero_grad(set_to_none=True)
    losses, accepted, images, label_sets = [], 0, 0, []
    for micro in range(config.grad_accumulation):
        with _autocast(device, config.mixed_precision):
            out = compute(step, micro)
        losses.append(float(out.loss.detach()))
        accepted, images = accepted + out.accepted, images + out.images
        label_sets.append(list(out.labels))
        if not math.isfinite(losses[-1]):
            break  # a non-finite loss poisons the whole step: skip it
        scaler.scale(out.loss / config.grad_accumulation).backward()
    finite = all(map(math.isfinite, losses))
    norm = float("nan")
    if finite:
        scaler.unscale_(optimizer)
        norm = float(torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm))
        finite = math.isfinite(norm)
        if finite:
            scaler.step(optimizer)
        scaler.update()  # fp16: halves the loss scale after an overflow (needs the unscale_ above)
    optimizer.zero_grad(set_to_none=True)
    return {
        "step": step + 1,
        "loss": sum(losses) / len(losses) if finite else None,
        "grad_norm": norm if finite else None,
        "accepted": accepted,
        "images": images,
        "skipped": not finite,
        "labels": label_sets,
    }


def train_text_encoder(
    encoder: torch.nn.Module,
    compute: Callable[[int, int], MicroStep],
    config: TrainerConfig,
    *,
    store: CheckpointStore,
    log: Path,
    save_encoder: Callable[[Path], Any],
) -> dict[str, Any]:
    """Run (or resume) ``config.steps`` optimizer steps of ``encoder``; return a summary.

    The summary's ``acceptance_rate`` covers the whole run, ``running_*`` the last 50 steps.
    """
    params = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    device = params[0].device
    scaler = torch.amp.GradScaler(
        device.type, init_scale=config.loss_scale, enabled=config.mixed_precision == "fp16"
    )
    start = _resume(store, log, encoder=encoder, optimizer=optimizer, scaler=scaler, config=config)
    totals = _Totals()
    recent: deque[dict[str, Any]] = deque(maxlen=50)  # the progress bar shows a running window
    for record in read_jsonl(log):
        totals.add(record)
        recent.append(record)
    bar = progress(total=config.steps, initial=start, desc="finetune")
    encoder.train()
    for step in range(start, config.steps):
        torch.manual_seed(derive_seed(config.seed, "finetune-step", step))
        record = _optimizer_step(
            step, compute, config, params=params, optimizer=optimizer, scaler=scaler, device=device
        )
        append_jsonl(log, [record])
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
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
            extra = {"fingerprint": config.fingerprint, "scaler": scaler.state_dict()}
            store.save(step + 1, save_encoder, optimizer, extra)
    bar.close()
    return {
        "steps": config.steps,
        "resumed_from": start,
        "skipped_steps": totals.skipped,
        "acceptance_rate": totals.accepted / max(totals.images, 1),
        "running_loss": _mean_loss(recent),
        "running_acceptance": _accept_rate(recent),
    }

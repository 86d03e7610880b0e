"""The classifier's learning-rate schedule: a constant warm-up, then a cosine of length ``epochs``.

The schedule counts *scheduler steps*. ``schedule_step = "epoch"`` (the default) takes one per
epoch, so the warm-up spans whole epochs and the cosine falls from the base lr to 0 over
``epochs`` epochs. ``"pass"`` takes one after every pass over a data set, as the reference code
does (DualCoOp's ``sched.step()`` sits in both the real and the synthetic pass): with the
paper's two passes per epoch, a one-step warm-up covers only epoch 1's real pass, and the cosine
(``CosineAnnealingLR(T_max=epochs)``, periodic past ``T_max``) reaches 0 halfway through training
and climbs back to the base lr by the last epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

__all__ = ["ScheduleStep", "factors", "lr_factor"]

ScheduleStep = Literal["epoch", "pass"]


def lr_factor(step: int, *, epochs: int, warmup_steps: int, warmup_lr: float, base_lr: float) -> float:
    """The lr after ``step`` scheduler steps, as a multiple of ``base_lr``."""
    if step < warmup_steps:
        return warmup_lr / base_lr
    return (1 + math.cos(math.pi * (step - warmup_steps) / epochs)) / 2


def factors(
    base_lrs: list[float], *, epochs: int, warmup_steps: int, warmup_lr: float
) -> list[Callable[[int], float]]:
    """One ``step -> factor`` function per parameter group (for ``torch.optim.lr_scheduler.LambdaLR``)."""

    def of(base_lr: float) -> Callable[[int], float]:
        return lambda step: lr_factor(
            step, epochs=epochs, warmup_steps=warmup_steps, warmup_lr=warmup_lr, base_lr=base_lr
        )

    return [of(lr) for lr in base_lrs]

"""Which label-set draws each L_TE optimizer step averages, and which process makes which draw.

A draw is named by its key ``(step, micro)`` in a single-process run of the configured ``steps``
and ``grad_accumulation``; its label set, prompts and noise are seeded from that key alone, so a
draw is the same whichever process makes it and however many processes share the work.

With N processes the user chooses what stays fixed:

- ``same-steps``: ``steps`` optimizer steps, each averaging N x ``grad_accumulation`` draws (the
  keys ``(step, 0..N*ga-1)``): N times the label sets, the same wall time as one process, and the
  same encoder as one process with ``grad_accumulation`` N x ga.
- ``same-label-sets``: ``steps / N`` optimizer steps, each averaging the draws of N consecutive
  single-process steps: exactly the label sets of a one-process run, in N times less wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tailorgen.errors import ConfigError

__all__ = ["DataParallel", "DrawKey", "DrawPlan"]

DataParallel = Literal["same-steps", "same-label-sets"]
#: (step, micro) of the single-process run that draw belongs to
DrawKey = tuple[int, int]


@dataclass(frozen=True)
class DrawPlan:
    steps: int
    grad_accumulation: int = 1
    #: how many processes the draws of a step are planned for
    world: int = 1
    mode: DataParallel = "same-steps"

    def __post_init__(self) -> None:
        if self.mode == "same-label-sets" and self.steps % self.world:
            raise ConfigError(
                f"[finetune] steps = {self.steps} is not a multiple of the {self.world} processes "
                "that data_parallel = 'same-label-sets' divides it among",
                f"set steps to a multiple of {self.world}, or use data_parallel = 'same-steps'",
            )

    @property
    def optimizer_steps(self) -> int:
        return self.steps if self.mode == "same-steps" else self.steps // self.world

    @property
    def draws_per_step(self) -> int:
        return self.grad_accumulation * self.world

    @property
    def label_sets(self) -> int:
        """Draws in the whole run."""
        return self.optimizer_steps * self.draws_per_step

    def keys(self, step: int) -> list[DrawKey]:
        """Every draw optimizer step ``step`` averages, in a fixed order."""
        if self.mode == "same-steps":
            return [(step, micro) for micro in range(self.draws_per_step)]
        first = step * self.world
        return [
            (s, micro) for s in range(first, first + self.world) for micro in range(self.grad_accumulation)
        ]

    def share(self, step: int, rank: int, world: int) -> list[DrawKey]:
        """The draws of ``step`` process ``rank`` of ``world`` makes (one process alone makes them all)."""
        keys = self.keys(step)
        if len(keys) % world:
            raise ValueError(f"{len(keys)} draws per step cannot be split among {world} processes")
        size = len(keys) // world
        return keys[rank * size : (rank + 1) * size]

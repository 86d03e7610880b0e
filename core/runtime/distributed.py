"""Which process am I: rank, world size, barriers and small collectives, the same under torchrun or alone.

Under ``torchrun`` accelerate's ``PartialState`` joins the process group; on a machine without CUDA
it needs ``cpu=True``, or every process believes it is alone and does all the work (NOTES.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

__all__ = ["Processes", "launch_rank", "processes"]


@dataclass(frozen=True)
class Processes:
    """This process's place among the processes of one launch."""

    rank: int = 0
    world: int = 1
    state: Any = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        """Wait until every process gets here (no-op alone)."""
        if self.state is not None and self.world > 1:
            self.state.wait_for_everyone()

    def mine(self, n: int) -> list[int]:
        """Indices ``0..n-1`` this process owns (round-robin: balanced and independent of timing)."""
        return list(range(self.rank, n, self.world))

    def gather(self, value: Any) -> list[Any]:
        """Every process's ``value`` (picklable), in rank order, on every process."""
        if self.world == 1:
            return [value]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, value)
        return out

    def broadcast(self, value: Any) -> Any:
        """The main process's ``value`` (picklable) on every process."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sum_(self, tensors: list[Any]) -> None:
        """Sum each tensor over all processes, in place (they must live on this process's device)."""
        if self.world == 1:
            return
        import torch.distributed as dist

        for work in [dist.all_reduce(t, op=dist.ReduceOp.SUM, async_op=True) for t in tensors]:
            work.wait()


def launch_rank() -> int:
    """This process's global rank as the launcher set it (torchrun's ``RANK``), 0 alone; imports nothing."""
    return int(os.environ.get("RANK") or 0)


def processes() -> Processes:
    """The current launch: torchrun/accelerate (``WORLD_SIZE`` > 1) or a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Processes()
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    return Processes(rank=state.process_index, world=state.num_processes, state=state)

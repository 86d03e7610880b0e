"""The best validation epoch of each selection a training run keeps.

One selection by default (``best.safetensors``); ``[train] select_checkpoints = "zsl-and-gzsl"``
keeps two, as the reference code does: the validation returns ``{"zsl": ..., "gzsl": ...}``, the
first named score is the primary one (``best.safetensors``, the run's ``classifier/``), every
other one is saved beside it as ``best-<name>.safetensors``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["BestEpochs", "checkpoint_name"]

PRIMARY = "best"


def checkpoint_name(selection: str, primary: bool) -> str:
    """File stem of a selection's best weights: ``best`` for the primary one, ``best-<name>`` else."""
    return PRIMARY if primary else f"{PRIMARY}-{selection}"


class BestEpochs:
    """``{selection: (score, epoch)}``, restored from and written to a checkpoint's record."""

    def __init__(self, record: dict[str, Any]) -> None:
        saved = record.get("bests")
        if saved is None and record.get("best_epoch") is not None:  # a single-selection record
            saved = {PRIMARY: [record.get("best_metric"), record["best_epoch"]]}
        self.scores: dict[str, tuple[float | None, int]] = {
            k: (v[0], int(v[1])) for k, v in (saved or {}).items()
        }

    def update(
        self, scores: float | dict[str, float] | None, epoch: int, save: Callable[[str], None]
    ) -> None:
        """Record ``epoch``'s scores; ``save(stem)`` writes the weights of each selection it improves.

        ``scores`` None means no validation: the last epoch is always kept.
        """
        named = scores if isinstance(scores, dict) else {PRIMARY: scores}
        for index, (name, value) in enumerate(named.items()):
            old = self.scores.get(name, (None, 0))[0]
            if scores is None or (value is not None and (old is None or value > old)):
                self.scores[name] = (value, epoch)
                save(checkpoint_name(name, index == 0))

    @property
    def primary(self) -> tuple[float | None, int | None]:
        first = next(iter(self.scores.values()), None)
        return first if first is not None else (None, None)

    def record(self) -> dict[str, Any]:
        metric, epoch = self.primary
        return {
            "best_metric": metric,
            "best_epoch": epoch,
            "bests": {k: list(v) for k, v in self.scores.items()},
        }

    def summary(self) -> dict[str, Any]:
        """Per selection: its best epoch and score (for the training summary)."""
        return {name: {"epoch": epoch, "score": score} for name, (score, epoch) in self.scores.items()}

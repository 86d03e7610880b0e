"""Options shared by the commands that label images with a model (``predict``, ``serve``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

__all__ = ["Threshold", "provider_option", "threshold_option", "top_k_option"]


class Threshold(click.ParamType):
    """A probability in [0, 1], or ``calibrated``."""

    name = "PROBABILITY|calibrated"

    def convert(self, value: Any, param: Any, ctx: Any) -> float | str:
        if value == "calibrated":
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if not 0 <= number <= 1:
            self.fail(f"{value!r} is neither a probability in [0, 1] nor 'calibrated'", param, ctx)
        return number


provider_option: Callable[[Any], Any] = click.option(
    "--provider",
    type=click.Choice(["cpu", "cuda", "tensorrt"]),
    default="cpu",
    show_default=True,
    help="onnxruntime execution provider (--backend onnx).",
)
top_k_option: Callable[[Any], Any] = click.option(
    "--top-k", type=click.IntRange(min=0), default=5, show_default=True, help="Labels per image (0: all)."
)
threshold_option: Callable[[Any], Any] = click.option(
    "--threshold",
    type=Threshold(),
    help="Only labels with at least this probability; 'calibrated': each label's threshold chosen on validation data.",
)

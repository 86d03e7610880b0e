"""Synthetic data set generation: the plan, the acceptance rule, the writer, the card."""

from __future__ import annotations

__all__: list[str] = []

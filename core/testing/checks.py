"""The failure type of the conformance kit and its one assertion helper."""

from __future__ import annotations

from typing import Any

__all__ = ["ConformanceError", "expect"]


class ConformanceError(AssertionError):
    """A plugin breaks its role's contract (an AssertionError, so pytest shows it as a failed check)."""


def expect(condition: Any, message: str) -> None:
    """Raise :class:`ConformanceError` with ``message`` unless ``condition`` holds (works under ``python -O``)."""
    if not condition:
        raise ConformanceError(message)

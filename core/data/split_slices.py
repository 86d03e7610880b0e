"""Split names with an optional slice, like Hugging Face datasets: ``train2014[:90%]``, ``val[100:]``.

A slice takes a deterministic part of a split in its file order, e.g. a held-out validation part
of a training split: ``{ train = "train2014[:90%]", val = "train2014[90%:]" }``.
"""

from __future__ import annotations

import re

from tailorgen.errors import TailorgenError

__all__ = ["parse_split", "slice_rows"]

_SPEC = re.compile(r"^(?P<name>[^\[\]]+)(\[(?P<start>-?\d+%?)?:(?P<stop>-?\d+%?)?\])?$")


def parse_split(spec: str) -> tuple[str, tuple[str | None, str | None] | None]:
    """``"train[:90%]"`` -> ``("train", (None, "90%"))``; a plain name has no slice."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise TailorgenError(
            f"bad split {spec!r}", "write a name, optionally sliced: train, train[:90%], train[90%:]"
        )
    if match["name"] == spec.strip():
        return spec.strip(), None
    return match["name"], (match["start"], match["stop"])


def slice_rows(bounds: tuple[str | None, str | None], n: int) -> slice:
    """The rows of an ``n``-row split that ``bounds`` (ints or percentages, negatives from the end) select."""

    def position(text: str | None, default: int) -> int:
        if text is None:
            return default
        if text.endswith("%"):
            return round(n * int(text[:-1]) / 100)
        return int(text)

    return slice(position(bounds[0], 0), position(bounds[1], n))

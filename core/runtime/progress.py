"""Progress bars on stderr (tqdm), silenced by ``--quiet`` or ``TAILORGEN_QUIET=1``.

Status lines and warnings are log records of the ``tailorgen`` logger (``tailorgen.log``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

__all__ = ["is_quiet", "progress", "set_quiet"]

_quiet = os.environ.get("TAILORGEN_QUIET", "") in {"1", "true"}


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def progress(
    iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str = "", **kw: Any
) -> Any:
    """A tqdm bar on stderr; ``disable`` when quiet."""
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, disable=_quiet, dynamic_ncols=True, **kw)

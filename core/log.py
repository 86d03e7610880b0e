"""The ``tailorgen`` logger tree: status lines and warnings a library user can route, level or silence.

Every module logs to ``logging.getLogger(__name__)`` (a child of ``tailorgen``). As a library,
tailorgen adds no handler of its own until asked: warnings reach stderr through Python's last-resort
handler and status lines (INFO) are dropped, unless the application configures logging or calls
:func:`set_verbosity`. The CLI calls :func:`configure_cli` (``--quiet`` / ``--verbose``).
"""

from __future__ import annotations

import logging
import sys

__all__ = ["LOGGER_NAME", "configure_cli", "get_verbosity", "set_verbosity"]

LOGGER_NAME = "tailorgen"

_LEVEL_NAMES: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (pytest and notebooks swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


class _CliFormatter(logging.Formatter):
    """Status lines as they are; warnings and errors prefixed (``warning: ...``) so they stand out."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


_handler: _StderrHandler | None = None


def _level(verbosity: int | str) -> int:
    if isinstance(verbosity, int):
        return verbosity
    level = _LEVEL_NAMES.get(verbosity.lower())
    if level is None:
        known = ", ".join(_LEVEL_NAMES)
        raise ValueError(f"unknown verbosity {verbosity!r}; use a logging level or one of {known}")
    return level


def _ensure_handler() -> None:
    """Add tailorgen's stderr handler once, unless the application already handles these records
    (a handler on the root logger, e.g. from ``logging.basicConfig``, or on ``tailorgen`` itself)."""
    global _handler
    if _handler is not None:
        return
    node: logging.Logger | None = logging.getLogger(LOGGER_NAME)
    while node is not None:  # a handler on `tailorgen` or an ancestor it propagates to (e.g. basicConfig)
        if any(not isinstance(h, logging.NullHandler) for h in node.handlers):
            return
        node = node.parent if node.propagate else None
    _handler = _StderrHandler()
    _handler.setFormatter(_CliFormatter("%(message)s"))
    root = logging.getLogger(LOGGER_NAME)
    root.addHandler(_handler)
    # Libraries that call `logging.info(...)` (open_clip does) give the root logger a handler later;
    # records propagating there would print twice.
    root.propagate = False


def set_verbosity(verbosity: int | str) -> None:
    """Show tailorgen's messages from ``verbosity`` up: a ``logging`` level (``logging.INFO``) or its name.

    ``INFO`` shows the status lines (stage starts, what each stage wrote), ``DEBUG`` more, ``WARNING``
    only what asks you to act. Messages go to stderr unless your application configured logging.
    """
    logging.getLogger(LOGGER_NAME).setLevel(_level(verbosity))
    _ensure_handler()


def get_verbosity() -> int:
    """The effective level of the ``tailorgen`` logger."""
    return logging.getLogger(LOGGER_NAME).getEffectiveLevel()


#: the logger of huggingface_hub's HTTP retries
_HUB_RETRIES = "huggingface_hub.utils._http"


def _no_retry_warnings(record: logging.LogRecord) -> bool:
    return record.levelno != logging.WARNING


def configure_cli(*, quiet: bool, verbose: bool) -> None:
    """The CLI's logging: status lines on stderr; ``quiet`` keeps warnings only, ``verbose`` adds debug.

    ``quiet`` also hides huggingface_hub's "Retrying in 4s" lines: status, not warnings; an error that
    follows them says what failed.
    """
    set_verbosity(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    retries = logging.getLogger(_HUB_RETRIES)
    retries.removeFilter(_no_retry_warnings)
    if quiet:  # its warnings only: HF_DEBUG's request log (debug records) still shows
        retries.addFilter(_no_retry_warnings)


logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())

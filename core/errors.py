"""One exception type for every user-facing failure: a message plus the fix."""

from __future__ import annotations

__all__ = ["ConfigError", "PluginError", "TailorgenError", "first_line"]


class TailorgenError(Exception):
    """An error the CLI prints as one line (``message (hint)``) and exits non-zero on."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class ConfigError(TailorgenError):
    """A run config, label file or option value is invalid."""


class PluginError(TailorgenError):
    """A plugin is unknown, broken or registered something invalid."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (libraries put pages of context after it), or its
    type name when the message is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

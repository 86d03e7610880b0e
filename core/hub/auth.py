"""Hub credentials: the standard login or ``HF_TOKEN``, checked before any work, never shown.

Every Hub call goes through :func:`hub_call`, which turns client errors into one-line
``TailorgenError``s with the token scrubbed from the text (an error message is output too).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from tailorgen.errors import TailorgenError, first_line

__all__ = ["hub_call", "offline_mode", "require_token", "scrub", "unreachable_hub"]

_LOGIN_HINT = "run `hf auth login` or set HF_TOKEN to a token with write access"
_TOKENISH = re.compile(r"\b(?:hf_|api_)[A-Za-z0-9]{8,}\b|(?i:bearer)\s+\S+")


def _library_errors(*names: tuple[str, str]) -> tuple[type[Exception], ...]:
    import importlib

    found = []
    for module, name in names:
        with contextlib.suppress(ImportError, AttributeError):
            found.append(getattr(importlib.import_module(module), name))
    return tuple(found)


def _transport_errors() -> tuple[type[Exception], ...]:
    """The HTTP library's errors (``httpx2`` for huggingface_hub 2.x, ``requests`` before)."""
    return _library_errors(("httpx2", "HTTPError"), ("httpx", "HTTPError"), ("requests", "RequestException"))


def _network_errors() -> tuple[type[Exception], ...]:
    """Those of them that mean no answer came (connection, DNS, timeout), not a bad answer."""
    return _library_errors(
        ("httpx2", "TransportError"),
        ("httpx", "TransportError"),
        ("requests", "ConnectionError"),
        ("requests", "Timeout"),
    )


def offline_mode() -> bool:
    """Offline as ``huggingface_hub`` sees it (read at its import) or as the environment says now."""
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.is_offline_mode() or flag.strip().upper() in {"1", "ON", "YES", "TRUE"}


def unreachable_hub(what: str, cause: BaseException | None = None) -> TailorgenError:
    """``what`` failed for want of the Hub: because offline mode is on (naming the variable that
    turned it on), or because the network failed (offline mode is off: no hint to unset it)."""
    if offline_mode():
        flag = next((f for f in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if os.environ.get(f)), "")
        setting = f"{flag}={os.environ[flag]}" if flag else "set when huggingface_hub was imported"
        return TailorgenError(
            f"{what}: Hugging Face Hub offline mode is on ({setting})",
            f"unset {flag or 'HF_HUB_OFFLINE'} to reach the Hub",
        )
    reason = f" ({type(cause).__name__}: {first_line(cause)})" if cause is not None else ""
    return TailorgenError(
        f"{what}: the Hugging Face Hub cannot be reached{reason}",
        "check the network or proxy; offline mode is off, so the Hub was tried",
    )


def require_token(action: str) -> str:
    """The user's token for ``action``; a one-line error when offline or not logged in."""
    if offline_mode():
        raise unreachable_hub(f"cannot {action}")
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise TailorgenError(f"cannot {action}: no Hugging Face token found", _LOGIN_HINT)
    return token


def scrub(text: str, token: str | None = None) -> str:
    """``text`` without the token (and without anything that looks like one)."""
    if token:
        text = text.replace(token, "***")
    return _TOKENISH.sub("***", text)


@contextlib.contextmanager
def hub_call(what: str, token: str | None = None) -> Iterator[None]:
    """Run Hub client calls; their failures become a scrubbed one-line ``TailorgenError``."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        yield
    except TailorgenError:
        raise
    except OfflineModeIsEnabled:
        raise unreachable_hub(what) from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        hint = _LOGIN_HINT if status in {401, 403} else "check the repo id and your network"
        raise TailorgenError(scrub(f"{what} failed: {first_line(exc)}", token), hint) from None
    except _network_errors() as exc:  # no answer, after the client's retries
        raise unreachable_hub(scrub(f"{what} failed", token), exc) from None
    except (OSError, ValueError, RuntimeError, *_transport_errors()) as exc:  # bad answers
        raise TailorgenError(
            scrub(f"{what} failed: {type(exc).__name__}: {exc}", token), "check the repo id and your network"
        ) from None

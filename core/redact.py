"""URLs fit to print: credentials in the user-info part or the query string are masked.

``https://user:secret@host/v1?api_key=abc`` -> ``https://***@host/v1?api_key=***``. Logs, errors and
public model cards show URLs only through :func:`mask_url`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "mask_url"]

MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with any user name/password and every query value replaced by ``***``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a URL (a bad port, an unclosed IPv6 bracket): show nothing of it
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{'[' + host + ']' if ':' in host else host}{port}"
    query = parts.query
    if query:
        query = urlencode([(key, MASK) for key, _ in parse_qsl(query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, "" if parts.fragment == "" else MASK))

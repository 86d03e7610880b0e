"""Local folder or Hub repo id? Decided without the network when the string looks like a path."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from tailorgen.errors import TailorgenError

__all__ = ["looks_local", "missing_local"]

#: suffixes of files a model source can be (a Hub id never names a file)
_FILE_SUFFIXES = (".onnx", ".engine", ".safetensors", ".json", ".toml")


def looks_local(source: str) -> bool:
    """Whether ``source`` can only be a local path: it starts with ``.``, ``/`` or ``~``, has other
    than one ``/``, names a model file, or its first part is a local folder (``runs/dmeo``)."""
    if source.startswith((".", "/", "~")) or source.count("/") != 1 or source.endswith(_FILE_SUFFIXES):
        return True
    return Path(source.split("/", maxsplit=1)[0]).is_dir()


def missing_local(source: str, hint: str) -> TailorgenError:
    """``runs/dmeo is neither a local folder nor a Hub repo id`` (with the closest folder there is)."""
    path = Path(source).expanduser()
    names = [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
    near = f"; did you mean {os.fspath(Path(source).parent / close[0])!r}?" if close else ""
    return TailorgenError(f"{source} is neither a local folder nor a Hub repo id{near}", hint)

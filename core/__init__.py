"""tailorgen: zero-shot multi-label classifiers trained on tailored synthetic images."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from tailorgen.errors import ConfigError, PluginError, TailorgenError

__all__ = ["ConfigError", "PluginError", "TailorgenError", "__version__"]

try:
    __version__ = version("tailorgen")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

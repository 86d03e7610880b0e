"""Offline tiny models, fixtures and the plugin conformance kit (for tests, the demo and plugin authors).

Nothing here is ever used in place of a real model unless a config names it explicitly.
"""

from __future__ import annotations

from tailorgen.testing.demo import ensure_demo_models

__all__ = ["ensure_demo_models"]

"""Offline tiny models, fixtures and the plugin conformance kit (for tests, the demo and plugin authors).

Nothing here is ever used in place of a real model unless a config names it explicitly.

- :func:`ensure_demo_models` / ``tailorgen demo-models DIR``: every tiny model, built once (cached);
- :mod:`tailorgen.testing.tiny_models`: the individual builders;
- :mod:`tailorgen.testing.conformance`: :func:`check_plugin` and the single checks;
- :mod:`tailorgen.testing.openai_server`: an OpenAI-compatible chat server on loopback (faults, holds);
- :mod:`tailorgen.testing.pytest_plugin`: the ``demo_models`` and ``plugin_conformance`` fixtures.
"""

from __future__ import annotations

from tailorgen.testing.conformance import ConformanceError, check_plugin
from tailorgen.testing.demo import ensure_demo_models

__all__ = ["ConformanceError", "check_plugin", "ensure_demo_models"]

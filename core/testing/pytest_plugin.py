"""pytest plugin for tailorgen and its plugin authors: ``-p tailorgen.testing.pytest_plugin``.

Offers the session-scoped ``demo_models`` fixture (the tiny offline models, built once per session),
the ``plugin_conformance`` fixture (the conformance kit bound to them), forces Hugging Face
offline mode so a test can never download a real model by accident, and runs ``tailorgen demo`` in
the tiny world (``TAILORGEN_DEMO_WORLD=tiny``, unless set): seconds, not the shapes world's minutes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

__all__ = ["demo_models", "plugin_conformance", "pytest_configure"]


def pytest_configure(config: pytest.Config) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TAILORGEN_DEMO_WORLD", "tiny")


@pytest.fixture(scope="session")
def demo_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"sd", "clip-vit", "clip-rn", "lm", "coco"} -> directory`` of the tiny random models.

    Built once per session, or kept across sessions in ``$TAILORGEN_DEMO_MODELS`` when that is set
    (a cache folder: built there on first use, reused while its version matches).
    """
    from tailorgen.testing.demo import ensure_demo_models

    cache = os.environ.get("TAILORGEN_DEMO_MODELS")
    return ensure_demo_models(Path(cache) if cache else tmp_path_factory.mktemp("demo-models") / "models")


@pytest.fixture
def plugin_conformance(demo_models: dict[str, Path], tmp_path: Path) -> Callable[..., list[str]]:
    """``plugin_conformance(module, options={...})``: :func:`~tailorgen.testing.conformance.check_plugin`."""
    from tailorgen.testing.conformance import check_plugin

    def run(module: Any, **kwargs: Any) -> list[str]:
        return check_plugin(module, demo_models, tmp_path, **kwargs)

    return run

"""Shared fixtures: ``demo_models`` (tiny offline models, built once per session) and offline mode."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

# Before anything imports huggingface_hub (it reads this once): tests never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"

pytest_plugins = ["tailorgen.testing.pytest_plugin"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``gpu`` tests skip (with the reason) where CUDA is missing, ``tensorrt`` ones also without TensorRT."""
    import importlib.util

    import torch

    reasons = []
    if not torch.cuda.is_available():
        reasons.append(("gpu", "needs a CUDA GPU (torch.cuda.is_available() is false)"))
        reasons.append(("tensorrt", "needs a CUDA GPU (torch.cuda.is_available() is false)"))
    elif importlib.util.find_spec("tensorrt") is None:
        reasons.append(("tensorrt", "needs TensorRT (pip install 'tailorgen[tensorrt]')"))
    for item in items:
        for marker, reason in reasons:
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))
                break


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A loopback Hub (tailorgen.testing.hub_server) knowing the test user's token, one per module."""
    from hub_helpers import TOKEN, USER
    from tailorgen.testing.hub_server import HubServer

    with HubServer(tokens={TOKEN: USER}, home=tmp_path_factory.mktemp("hf-home")) as server:
        yield server

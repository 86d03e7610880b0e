"""Shared fixtures: ``demo_models`` (tiny offline models, built once per session) and offline mode."""

from __future__ import annotations

import os

# Before anything imports huggingface_hub (it reads this once): tests never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"

pytest_plugins = ["tailorgen.testing.pytest_plugin"]

"""Example tailorgen plugin: one hook per role it provides, each registering a class.

Heavy libraries (torch) are imported inside methods so ``tailorgen plugins`` stays fast.
"""

from __future__ import annotations

from typing import Any

from tailorgen.registry import hookimpl

from tailorgen_example_plugin.scaled_adapter import ScaledAdapter
from tailorgen_example_plugin.shouty import ShoutyWriter

__all__ = ["ScaledAdapter", "ShoutyWriter", "register_fusion_heads", "register_prompt_writers"]


@hookimpl
def register_prompt_writers(register: Any) -> None:
    register(ShoutyWriter)


@hookimpl
def register_fusion_heads(register: Any) -> None:
    register(ScaledAdapter)

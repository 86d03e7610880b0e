"""Example tailorgen plugin: one hook per role it provides, each registering a class, plus a CLI command.

Heavy libraries (torch) are imported inside methods so ``tailorgen plugins`` stays fast.
"""

from __future__ import annotations

from typing import Any

from tailorgen.registry import hookimpl

from tailorgen_example_plugin.scaled_adapter import ScaledAdapter
from tailorgen_example_plugin.shouty import ShoutyWriter
from tailorgen_example_plugin.stripes import StripesGenerator

__all__ = [
    "ScaledAdapter",
    "ShoutyWriter",
    "StripesGenerator",
    "register_commands",
    "register_fusion_heads",
    "register_generators",
    "register_prompt_writers",
]


@hookimpl
def register_prompt_writers(register: Any) -> None:
    register(ShoutyWriter)


@hookimpl
def register_generators(register: Any) -> None:
    register(StripesGenerator)


@hookimpl
def register_fusion_heads(register: Any) -> None:
    register(ScaledAdapter)


@hookimpl
def register_commands(cli: Any) -> None:
    """``tailorgen stripes PROMPT --out FILE`` (the command module is imported when the hook runs)."""
    from tailorgen_example_plugin.commands import stripes

    cli.add_command(stripes)

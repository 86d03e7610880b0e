"""The hooks a tailorgen plugin implements: one per role, each handed a ``register`` callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pluggy import HookimplMarker, HookspecMarker

__all__ = [
    "ROLE_HOOKS",
    "hookimpl",
    "hookspec",
    "register_commands",
    "register_datasets",
    "register_discriminators",
    "register_exporters",
    "register_fusion_heads",
    "register_generators",
    "register_prompt_writers",
]

hookspec = HookspecMarker("tailorgen")
hookimpl = HookimplMarker("tailorgen")

Register = Callable[[type[Any]], None]


@hookspec
def register_prompt_writers(register: Register) -> None:
    """Register prompt writers (LLMs or other prompt sources): ``register(PromptWriterClass)``."""


@hookspec
def register_generators(register: Register) -> None:
    """Register image generators (diffusion pipelines)."""


@hookspec
def register_discriminators(register: Register) -> None:
    """Register discriminators (CLIP-style image/label scorers)."""


@hookspec
def register_fusion_heads(register: Register) -> None:
    """Register fusion heads attached to the classifier's image tower."""


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets (real or synthetic image collections with multi-label targets)."""


@hookspec
def register_exporters(register: Register) -> None:
    """Register exporters (ONNX, TensorRT, ...) for trained classifiers."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add CLI subcommands: ``@cli.command()`` on ``cli``, a ``click.Group`` (as in simonw/llm).

    The commands become ``tailorgen NAME``; a name a built-in command or another plugin already uses
    is rejected (a load error, fatal under ``TAILORGEN_STRICT_PLUGINS=1``).
    """


#: role name -> hook name; the order is the order ``tailorgen plugins`` prints.
ROLE_HOOKS: dict[str, str] = {
    "prompt_writer": "register_prompt_writers",
    "generator": "register_generators",
    "discriminator": "register_discriminators",
    "fusion_head": "register_fusion_heads",
    "dataset": "register_datasets",
    "exporter": "register_exporters",
}

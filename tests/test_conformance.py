"""Every reference plugin passes the conformance kit (tailorgen.testing.conformance) on the tiny models."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata as md
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tailorgen.registry import ENTRY_POINT_GROUP
from tailorgen.testing import conformance
from tailorgen.testing.openai_server import OpenAIServer
from tailorgen.testing.role_checks import CheckInputs
from tailorgen.testing.tiny_layouts import tiny_imagefolder, tiny_nus_wide

Models = dict[str, Path]

#: options that point each reference entry at the tiny models (entries not listed use their defaults)
REFERENCE_OPTIONS: dict[str, Callable[[Models, Path], dict[str, Any]]] = {
    "hf-chat": lambda m, _: {"model": str(m["lm"]), "max_new_tokens": 12, "device": "cpu", "batch_size": 2},
    "file": lambda m, tmp: {"path": str(_prompt_file(tmp))},
    "openai": lambda m, _: {"base_url": _loopback_chat_server().url},
    "diffusers": lambda m, _: {
        "model": str(m["sd"]),
        "num_inference_steps": 2,
        "height": 64,
        "width": 64,
        "device": "cpu",
        "batch_size": 2,
    },
    "open-clip": lambda m, _: {"model": f"local-dir:{m['clip-vit']}", "device": "cpu"},
    "coco": lambda m, _: {"root": str(m["coco"])},
    "imagefolder": lambda m, tmp: {"root": str(tiny_imagefolder(m["coco"], tmp / "imagefolder"))},
    "nus-wide": lambda m, tmp: {"root": str(tiny_nus_wide(m["coco"], tmp / "nus-wide"))},
}


def _needs_tensorrt() -> bool:
    try:
        import tensorrt  # noqa: F401
        import torch
    except Exception:
        return True
    return not torch.cuda.is_available()


#: entries whose outputs need hardware this machine may lack (their registration is still checked)
REGISTRATION_ONLY: dict[str, Callable[[], bool]] = {"tensorrt": _needs_tensorrt}


@functools.cache
def _loopback_chat_server() -> OpenAIServer:
    """One loopback chat server for the session (a daemon thread: it ends with the test process)."""
    return OpenAIServer().start()


def _prompt_file(tmp: Path) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "prompts.jsonl"
    path.write_text(
        '{"labels": ["elephant", "cow"], "prompts": ["an elephant next to a cow", "a cow and an elephant"]}\n'
        '{"labels": ["cat"], "text": "a cat on a sofa"}\n'
    )
    return path


def _reference_plugins() -> list[Any]:
    """One param per entry point this project declares (its module may not be written yet)."""
    eps = md.distribution("tailorgen").entry_points.select(group=ENTRY_POINT_GROUP)
    return [pytest.param(ep, id=ep.name) for ep in sorted(eps, key=lambda e: e.name)]


def _import_or_skip(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the module exists but imports something missing: a real failure
        pytest.skip(f"{module_name} is declared in pyproject.toml but not written yet")


@pytest.mark.parametrize("ep", _reference_plugins())
def test_reference_plugin_conforms(ep: md.EntryPoint, demo_models: Models, tmp_path: Path) -> None:
    module = _import_or_skip(ep.value)
    entries = conformance.check_registration(module)
    conformance.check_lazy_imports(ep.value)
    inputs = CheckInputs(demo_models, tmp_path)
    unchecked: list[str] = []
    for entry in entries:
        make_options = REFERENCE_OPTIONS.get(entry.name)
        options = make_options(demo_models, tmp_path / "data") if make_options else {}
        instance = conformance.check_entry(entry, options)
        skip = REGISTRATION_ONLY.get(entry.name)
        if skip is not None and skip():
            unchecked.append(entry.name)
        else:
            conformance.check_outputs(entry, instance, inputs)
    if unchecked:  # reported, not silently passed: what was checked is the registration only
        pytest.skip(
            f"outputs of {', '.join(unchecked)} not checked: they need TensorRT and a CUDA GPU "
            "(registration and options were checked)"
        )

"""Registry: registration, validation, unknown names, duplicate names, options."""

from __future__ import annotations

import types

import pytest
from pydantic import BaseModel, ConfigDict
from tailorgen.errors import PluginError
from tailorgen.registry import Registry, hookimpl
from tailorgen.registry.roles import Generator


class EchoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int = 2


class EchoGenerator(Generator):
    """Returns its prompts (test double)."""

    name = "echo"
    Options = EchoOptions

    def generate(self, prompts: list[str], seeds: list[int]) -> list[str]:
        return [f"{p}:{s}:{self.options.steps}" for p, s in zip(prompts, seeds, strict=True)]


def plugin_module(name: str, *classes: type, hook: str = "register_generators") -> types.ModuleType:
    module = types.ModuleType(name)

    def register_all(register):  # type: ignore[no-untyped-def]
        for cls in classes:
            register(cls)

    register_all.__name__ = hook
    setattr(module, hook, hookimpl(register_all))
    return module


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.setenv("TAILORGEN_LOAD_PLUGINS", "")
    monkeypatch.delenv("TAILORGEN_STRICT_PLUGINS", raising=False)
    return Registry(extra_plugins=[plugin_module("echo_plugin", EchoGenerator)])


def test_create_validates_options(registry: Registry) -> None:
    gen = registry.create("generator", "echo", {"steps": 5})
    assert gen.generate(["a"], [1]) == ["a:1:5"]
    entry = registry.get("generator", "echo")
    assert entry.description == "Returns its prompts (test double)."
    assert entry.source.plugin == "echo_plugin"
    with pytest.raises(PluginError, match=r"steps: Input should be a valid integer.*allowed options: steps"):
        registry.create("generator", "echo", {"steps": "many"})
    with pytest.raises(PluginError, match="stepz: Extra inputs"):
        registry.create("generator", "echo", {"stepz": 1})


def test_unknown_name_lists_available(registry: Registry) -> None:
    with pytest.raises(PluginError, match=r"unknown generator 'ech'; available: .*echo"):
        registry.get("generator", "ech")
    with pytest.raises(PluginError, match="unknown role"):
        registry.list("painter")


def test_duplicate_names_name_both_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILORGEN_LOAD_PLUGINS", "")
    reg = Registry(
        extra_plugins=[plugin_module("first", EchoGenerator), plugin_module("second", EchoGenerator)]
    )
    assert any("registered by both 'first'" in e.error and "'second'" in e.error for e in reg.errors)
    with pytest.raises(PluginError, match="registered by both 'first'.*'second'"):
        reg.get("generator", "echo")


def test_invalid_entries_are_recorded_and_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILORGEN_LOAD_PLUGINS", "")

    class Abstract(Generator):
        name = "abstract"

    class BadName(EchoGenerator):
        name = "Bad Name"

    reg = Registry(
        extra_plugins=[
            plugin_module("p1", Abstract),
            plugin_module("p2", BadName),
            plugin_module("p3", int),
            plugin_module("p4", EchoGenerator, hook="register_generatorz"),
            plugin_module("good", EchoGenerator),
        ]
    )
    errors = {e.source.plugin: e.error for e in reg.errors}
    assert "does not implement ['generate']" in errors["p1"]
    assert "lower-case name" in errors["p2"]
    assert "not a subclass" in errors["p3"]
    assert "register_generatorz" in errors["p4"]
    names = [e.name for e in reg.list("generator")]  # built-in plugins load too
    assert "echo" in names
    assert not {"abstract", "Bad Name"} & set(names)
    monkeypatch.setenv("TAILORGEN_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="failed"):
        reg.check_strict()

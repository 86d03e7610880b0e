"""The conformance kit catches plugins that break their contract (each check can fail)."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import ROLE_BASES, Dataset, Discriminator, FusionHead, Generator, PromptWriter
from tailorgen.testing.conformance import (
    ConformanceError,
    check_entry,
    check_lazy_imports,
    check_plugin,
    check_registration,
)

HOOKS = {
    PromptWriter: "register_prompt_writers",
    Generator: "register_generators",
    Discriminator: "register_discriminators",
    FusionHead: "register_fusion_heads",
    Dataset: "register_datasets",
}


def _module(*classes: type, name: str = "fake_plugin") -> types.ModuleType:
    """A plugin module registering ``classes``, built in memory."""
    module = types.ModuleType(name)
    for base, hook in HOOKS.items():
        mine = [c for c in classes if issubclass(c, base)]
        if mine:

            def register_all(register: Any, mine: list[type] = mine) -> None:
                for cls in mine:
                    register(cls)

            register_all.__name__ = hook
            setattr(module, hook, hookimpl(register_all))
    return module


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loud: bool = Field(False, description="Shout.")


class GoodWriter(PromptWriter):
    name: ClassVar[str] = "good"
    description: ClassVar[str] = "writes one prompt per request"
    Options: ClassVar[type[BaseModel]] = Strict

    def write(self, requests: list[Any]) -> list[list[str]]:
        return [[f"a photo of {' and '.join(r.labels)} #{r.seed}"] for r in requests]


def test_a_good_writer_passes(demo_models: dict[str, Path], tmp_path: Path) -> None:
    passed = check_plugin(_module(GoodWriter), demo_models, tmp_path, lazy_imports=False)
    assert passed == ["prompt_writer 'good': ok"]


def test_module_without_hooks_is_rejected() -> None:
    with pytest.raises(ConformanceError, match="registers nothing"):
        check_registration(types.ModuleType("empty_plugin"))


def test_invalid_entry_is_rejected() -> None:
    class BadName(GoodWriter):
        name: ClassVar[str] = "Bad Name"

    with pytest.raises(ConformanceError, match="failed to register"):
        check_registration(_module(BadName))


def test_name_taken_by_an_installed_plugin_is_rejected() -> None:
    class Template(GoodWriter):
        name: ClassVar[str] = "template"  # the built-in template writer's name

    with pytest.raises(ConformanceError, match="'template'"):
        check_registration(_module(Template))


def _entry(cls: type) -> Any:
    [entry] = check_registration(_module(cls))
    return entry


def test_options_must_forbid_unknown_keys() -> None:
    class Lax(BaseModel):
        loud: bool = Field(False, description="Shout.")

    class LaxWriter(GoodWriter):
        Options: ClassVar[type[BaseModel]] = Lax

    with pytest.raises(ConformanceError, match="unknown option keys are accepted"):
        check_entry(_entry(LaxWriter))


def test_options_need_descriptions() -> None:
    class Terse(BaseModel):
        model_config = ConfigDict(extra="forbid")
        loud: bool = False

    class TerseWriter(GoodWriter):
        Options: ClassVar[type[BaseModel]] = Terse

    with pytest.raises(ConformanceError, match="without a Field.*loud"):
        check_entry(_entry(TerseWriter))


def test_options_must_validate() -> None:
    with pytest.raises(ConformanceError, match="do not validate"):
        check_entry(_entry(GoodWriter), {"loud": "very"})


def test_description_is_required() -> None:
    class Mute(GoodWriter):
        """"""

        description: ClassVar[str] = ""

    with pytest.raises(ConformanceError, match="description"):
        check_entry(_entry(Mute))


class RandomWriter(GoodWriter):
    name: ClassVar[str] = "random"
    calls = 0

    def write(self, requests: list[Any]) -> list[list[str]]:
        RandomWriter.calls += 1
        return [[f"prompt {RandomWriter.calls}"] for _ in requests]


class BatchDependentWriter(GoodWriter):
    name: ClassVar[str] = "batchy"

    def write(self, requests: list[Any]) -> list[list[str]]:
        return [[f"prompt {i} of {len(requests)}"] for i, _ in enumerate(requests)]


class WrongCountWriter(GoodWriter):
    name: ClassVar[str] = "short"

    def write(self, requests: list[Any]) -> list[list[str]]:
        return [["only one"]]


class UnseededGenerator(Generator):
    name: ClassVar[str] = "noise"
    description: ClassVar[str] = "ignores its seeds"

    def generate(self, prompts: list[str], seeds: list[int]) -> list[Any]:
        import numpy as np
        from PIL import Image

        return [Image.fromarray(np.random.randint(0, 255, (8, 8, 3), dtype=np.uint8)) for _ in prompts]


class WrongShapeDiscriminator(Discriminator):
    name: ClassVar[str] = "transposed"
    description: ClassVar[str] = "returns (labels, images)"

    def score(self, images: list[Any], label_names: list[str]) -> Any:
        import torch

        return torch.zeros(len(label_names), len(images))


class DisruptiveHead(FusionHead):
    name: ClassVar[str] = "disruptive"
    description: ClassVar[str] = "changes the tower's output at once"

    def attach(self, visual: Any) -> list[Any]:
        import torch

        with torch.no_grad():
            visual.layer1[0].conv2.weight.mul_(2.0)
        return []


class RootOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: Path = Field(description="A COCO-format folder.")


class LenientDataset(Dataset):
    name: ClassVar[str] = "lenient"
    description: ClassVar[str] = "silently drops the data's labels it was not asked for"
    Options: ClassVar[type[BaseModel]] = RootOptions

    def load(self, split: str, label_names: list[str]) -> Any:
        import torch
        from tailorgen.data.labeled_images import LabeledImages
        from tailorgen.testing.tiny_layouts import coco_split_labels

        labels = coco_split_labels(self.options.root, split)
        targets = torch.tensor([[float(n in found) for n in label_names] for found in labels.values()])
        return LabeledImages([self.options.root / "images" / f for f in labels], targets, label_names)


def test_dataset_dropping_unknown_labels_is_caught(demo_models: dict[str, Path], tmp_path: Path) -> None:
    options = {"lenient": {"root": str(demo_models["coco"])}}
    with pytest.raises(ConformanceError, match="must fail: the data has images labelled"):
        check_plugin(_module(LenientDataset), demo_models, tmp_path, options=options, lazy_imports=False)


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (RandomWriter, "deterministic"),
        (BatchDependentWriter, "must not depend on the rest of its batch"),
        (WrongCountWriter, "one list per request"),
        (UnseededGenerator, "depend only on its own prompt and seed"),
        (WrongShapeDiscriminator, r"\(3, 4\)"),
        (DisruptiveHead, "unchanged right after attach"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_broken_outputs_are_caught(
    cls: type, message: str, demo_models: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(ConformanceError, match=message) as raised:
        check_plugin(_module(cls), demo_models, tmp_path, lazy_imports=False)
    role = next(role for role, base in ROLE_BASES.items() if issubclass(cls, base))
    # the failure names the entry and the plugin it came from
    assert str(raised.value).startswith(f"{role} {cls.name!r} (plugin 'fake_plugin'): ")


class CrashingWriter(GoodWriter):
    name: ClassVar[str] = "crashing"

    def write(self, requests: list[Any]) -> list[list[str]]:
        raise KeyError("labels")


def test_a_command_clashing_with_a_builtin_is_caught() -> None:
    module = types.ModuleType("commands_plugin")

    def register_commands(cli: Any) -> None:
        @cli.command()
        def predict() -> None:
            """shadows the built-in predict"""

    module.register_commands = hookimpl(register_commands)  # type: ignore[attr-defined]
    with pytest.raises(ConformanceError, match="command 'predict' is already a built-in command"):
        check_registration(module)


def test_a_crash_inside_a_check_names_the_entry(demo_models: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConformanceError) as raised:
        check_plugin(_module(CrashingWriter), demo_models, tmp_path, lazy_imports=False)
    assert str(raised.value) == "prompt_writer 'crashing' (plugin 'fake_plugin'): raised KeyError: 'labels'"


def test_registration_only_skips_the_output_checks(demo_models: dict[str, Path], tmp_path: Path) -> None:
    passed = check_plugin(
        _module(WrongShapeDiscriminator),
        demo_models,
        tmp_path,
        lazy_imports=False,
        registration_only=["transposed"],
    )
    assert passed == ["discriminator 'transposed': ok"]


def test_heavy_imports_at_module_level_are_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `wave` stands in for torch & co. (same mechanism, without a slow import in the test)
    (tmp_path / "eager_plugin.py").write_text("import wave\n")
    (tmp_path / "lazy_plugin.py").write_text("def f():\n    import wave\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    check_lazy_imports("lazy_plugin", heavy=["wave"])
    with pytest.raises(ConformanceError, match="imports wave"):
        check_lazy_imports("eager_plugin", heavy=["wave"])

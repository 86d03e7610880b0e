"""Typed contracts of the six plugin roles.

Every entry a plugin registers is a class deriving from one of these bases, with a ``name``, a
``description`` and an ``Options`` pydantic model; ``create_*`` validates options with that model
and calls ``cls(options)``. Capabilities a stage needs beyond the base contract are separate
abstract classes (e.g. :class:`DifferentiableGenerator`) so a stage can say clearly which one a
plugin lacks.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ROLE_BASES",
    "Dataset",
    "DifferentiableDiscriminator",
    "DifferentiableGenerator",
    "Discriminator",
    "Exporter",
    "FusionHead",
    "Generator",
    "NoOptions",
    "PluginBase",
    "PromptWriter",
]


class NoOptions(BaseModel):
    """Options model of a plugin that takes none."""

    model_config = ConfigDict(extra="forbid")


class PluginBase(abc.ABC):
    """What every registered entry has: a name, a description and an options model."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        self.options = options if options is not None else self.Options()


class PromptWriter(PluginBase):
    """Writes raw candidate prompt text for label sets (validated afterwards by the post-processor)."""

    @abc.abstractmethod
    def write(self, requests: list[Any]) -> list[list[str]]:
        """For each request (labels, count, seed, attempt), return raw candidate texts."""


class Generator(PluginBase):
    """Turns prompts into images; an image depends only on its own seed."""

    @abc.abstractmethod
    def generate(self, prompts: list[str], seeds: list[int]) -> list[Any]:
        """Return one PIL image per (prompt, seed)."""


class Discriminator(PluginBase):
    """Scores images against label names (CLIP logits ``100 * cos``)."""

    @abc.abstractmethod
    def score(self, images: list[Any], label_names: list[str]) -> Any:
        """Return a float tensor of shape (len(images), len(label_names))."""


class FusionHead(PluginBase):
    """Modifies a classifier's image tower in place; returns the parameters it added.

    The classifier freezes the tower, then calls ``attach`` once while it is built (also when a saved
    classifier is loaded, before its weights are read), so the head must be deterministic in its
    options. Rules: add submodules without renaming the tower's own parameters (pretrained weights
    are loaded by name afterwards); start as (near) identity so the pretrained output is kept;
    return only the new parameters, which train with the fusion learning rate. Examples: the
    ``global-branch`` reference head, an adapter or LoRA on the bottleneck convolutions.
    """

    @abc.abstractmethod
    def attach(self, visual: Any) -> list[Any]:
        """Attach to ``visual`` (an open_clip ModifiedResNet image tower) and return the new trainable parameters."""


class Dataset(PluginBase):
    """A multi-label image collection over label names of a label set."""

    @abc.abstractmethod
    def load(self, split: str, label_names: list[str]) -> Any:
        """Return a sequence of (image path or PIL image, multi-hot target) for ``split``."""


class Exporter(PluginBase):
    """Turns a trained classifier into a deployable artefact."""

    @abc.abstractmethod
    def export(self, classifier: Any, out_dir: Any) -> Any:
        """Write the artefact under ``out_dir`` and return its path."""


ROLE_BASES: dict[str, type[PluginBase]] = {
    "prompt_writer": PromptWriter,
    "generator": Generator,
    "discriminator": Discriminator,
    "fusion_head": FusionHead,
    "dataset": Dataset,
    "exporter": Exporter,
}


class DifferentiableGenerator(abc.ABC):
    """Capability: sample images with gradients flowing into a trainable text encoder (for L_TE)."""

    @abc.abstractmethod
    def trainable_text_encoder(self) -> Any:
        """The text encoder module whose parameters fine-tuning updates (everything else frozen)."""

    @abc.abstractmethod
    def sample_with_grad(self, prompts: list[str], negative_prompt: str, seed: int, **sampling: Any) -> Any:
        """Images (B, 3, H, W) in [0, 1], differentiable with respect to the text encoder."""

    @abc.abstractmethod
    def save_text_encoder(self, directory: Any) -> Any:
        """Save the (fine-tuned) text encoder as safetensors under ``directory``."""


class DifferentiableDiscriminator(abc.ABC):
    """Capability: score image tensors differentiably (for L_TE)."""

    @abc.abstractmethod
    def score_tensors(self, images: Any, label_names: list[str]) -> Any:
        """``100 * cos`` logits (B, C) for images (B, 3, H, W) in [0, 1]; differentiable in ``images``."""

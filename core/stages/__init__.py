"""Pipeline stages and the runner that executes them in order over one run directory.

Each stage is a module ``tailorgen.stages.<name>`` exposing ``Settings`` (a pydantic model for its
``[<name>]`` config section), ``run(ctx) -> dict`` and optionally ``plan(ctx) -> dict`` for
``--dry-run``. A stage whose module does not exist yet is reported as not available.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType

from tailorgen.config import STAGE_ORDER
from tailorgen.errors import TailorgenError

__all__ = ["STAGES", "StageSpec", "load_stage"]


@dataclass(frozen=True)
class StageSpec:
    """A stage, the file that shows it completed, and the stages whose outputs it reads."""

    name: str
    produces: str
    requires: tuple[str, ...] = ()

    @property
    def module_name(self) -> str:
        return f"tailorgen.stages.{self.name}"

    @property
    def available(self) -> bool:
        return importlib.util.find_spec(self.module_name) is not None


STAGES: dict[str, StageSpec] = {
    spec.name: spec
    for spec in (
        StageSpec("prompts", "prompts.jsonl"),
        StageSpec("finetune", "finetune/text_encoder/model.safetensors", ("prompts",)),
        StageSpec("generate", "synthetic/metadata.jsonl", ("prompts",)),
        StageSpec("train", "classifier/model.safetensors", ("generate",)),
        StageSpec("evaluate", "eval.json"),
        StageSpec("export", "export"),
        StageSpec("publish", "publish.json", ("train",)),
    )
}
assert tuple(STAGES) == STAGE_ORDER


def load_stage(name: str) -> ModuleType:
    spec = STAGES[name]
    if not spec.available:
        raise TailorgenError(f"stage {name!r} is not available in this version of tailorgen")
    return importlib.import_module(spec.module_name)

"""Base class of the reference exporters: validation settings in, validation reports out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.registry.roles import Exporter

if TYPE_CHECKING:  # numpy-backed: loaded only when an export runs
    from tailorgen.exporters.validation import ValidationReport

__all__ = ["ValidatingExporter", "ValidationSettings"]


class ValidationSettings(BaseModel):
    """How exports are checked: batch size and seed of the random inputs (``[export]`` sets them)."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(3, ge=1, description="Batch of random images; must differ from the export batch.")
    seed: int = Field(0, description="Seed of the random images (the export stage derives it from run.seed).")


class ValidatingExporter(Exporter):
    """An exporter that checks every artefact it writes (the export stage sets ``validation``)."""

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self.validation = ValidationSettings()
        self.reports: list[ValidationReport] = []

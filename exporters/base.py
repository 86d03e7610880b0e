"""Base class of the reference exporters: validation settings in, validation reports out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel
from tailorgen.exporters.validation_settings import ValidationSettings
from tailorgen.registry.roles import Exporter

if TYPE_CHECKING:  # numpy-backed: loaded only when an export runs
    from tailorgen.exporters.validation import ValidationReport

__all__ = ["ValidatingExporter", "ValidationSettings"]


class ValidatingExporter(Exporter):
    """An exporter that checks every artefact it writes (the export stage sets ``validation``)."""

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self.validation = ValidationSettings()
        self.reports: list[ValidationReport] = []

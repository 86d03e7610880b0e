"""Base class of the reference exporters: validation settings in, validation reports out."""

from __future__ import annotations

from pydantic import BaseModel
from tailorgen.exporters.validation import ValidationReport, ValidationSettings
from tailorgen.registry.roles import Exporter

__all__ = ["ValidatingExporter"]


class ValidatingExporter(Exporter):
    """An exporter that checks every artefact it writes (the export stage sets ``validation``)."""

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self.validation = ValidationSettings()
        self.reports: list[ValidationReport] = []

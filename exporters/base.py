"""Base class of the reference exporters: validation settings in, validation reports out.

Every artefact is checked against PyTorch and, when the export stage gives an evaluation split,
judged by the mAP it loses there (:meth:`ValidatingExporter._judged`), whatever runs it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from tailorgen.exporters.validation_settings import ValidationSettings
from tailorgen.registry.roles import Exporter

if TYPE_CHECKING:  # numpy-backed: loaded only when an export runs
    from tailorgen.exporters.accuracy import AccuracyJudge
    from tailorgen.exporters.validation import ValidationReport
    from tailorgen.predict.base import Predictor

__all__ = ["ValidatingExporter", "ValidationSettings", "device_of"]


def device_of(module: Any) -> str:
    return str(next(module.parameters()).device)


class ValidatingExporter(Exporter):
    """An exporter that checks every artefact it writes (the export stage sets ``validation``)."""

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self.validation = ValidationSettings()
        self.reports: list[ValidationReport] = []
        self._reference: Predictor | None = None
        self._judge: AccuracyJudge | None = None

    def _begin(self, classifier: Any) -> None:
        """A new export of ``classifier``: no reports yet, PyTorch as the reference, the mAP judge."""
        import numpy as np
        from tailorgen.exporters.accuracy import AccuracyJudge
        from tailorgen.predict.torch_backend import TorchPredictor

        self.reports = []
        self._reference = TorchPredictor(classifier, device_of(classifier))
        v = self.validation
        self._judge = (
            AccuracyJudge(v.accuracy_images, np.asarray(v.accuracy_targets), v.map_budget)
            if v.accuracy_images
            else None
        )

    def _judged(
        self, report: ValidationReport, predictor: Predictor, *, limit: bool = True
    ) -> ValidationReport:
        """``report`` with the artefact's mAP on the evaluation split, run by ``predictor``
        (VariantRefusedError beyond the budget unless ``limit`` is off)."""
        if self._judge is None or self._reference is None:
            return report
        judge = self._judge if limit else replace(self._judge, budget=float("inf"))
        result = judge.judge(report.artefact, predictor.predict, self._reference.predict)
        self._judge.reference_map = judge.reference_map
        return replace(report, **result)

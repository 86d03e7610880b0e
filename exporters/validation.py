"""Export validation: an exported model must reproduce its reference on fresh random inputs.

Every exporter runs :func:`validate` before it keeps an artefact; a failure raises
:class:`ExportValidationError` with the measured error, so a broken export never lands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from tailorgen.errors import TailorgenError
from tailorgen.exporters.validation_settings import ValidationSettings

__all__ = [
    "FP16",
    "FP32",
    "INT8",
    "INT8_STATIC",
    "MAX_SATURATED",
    "ExportValidationError",
    "Tolerance",
    "ValidationReport",
    "compare",
    "random_images",
    "validate",
]


@dataclass(frozen=True)
class Tolerance:
    """``|candidate - reference| <= atol + rtol * |reference|`` everywhere, and the same top-k ranking.

    Two labels whose reference probabilities are within that same bound count as tied, so the
    ranking check never fails on a swap the element-wise check already allows.
    """

    atol: float
    rtol: float
    top_k: int = 5

    def describe(self) -> str:
        return f"atol {self.atol:g}, rtol {self.rtol:g}, top-{self.top_k} ranking"


FP32 = Tolerance(atol=1e-4, rtol=1e-3)
#: half-precision weights and activations: about 3 significant digits
FP16 = Tolerance(atol=5e-3, rtol=1e-2)
#: dynamically quantised int8 weights (activations quantised per batch at run time)
INT8 = Tolerance(atol=5e-2, rtol=5e-2)
#: statically quantised (QDQ) int8, checked on calibration images (random inputs fall outside the
#: calibrated activation ranges); its real judge is the mAP it loses (tailorgen.exporters.accuracy)
INT8_STATIC = Tolerance(atol=1e-1, rtol=1e-1, top_k=1)

log = logging.getLogger(__name__)

#: a check where more than this share of the probabilities sits at 0 or 1 proves nothing (an error
#: there is invisible after the sigmoid): it fails unless ``allow_saturated``
MAX_SATURATED = 0.5


class ExportValidationError(TailorgenError):
    """An exported model disagrees with its reference beyond the stated tolerance."""


@dataclass(frozen=True)
class ValidationReport:
    """What one check measured."""

    artefact: str
    reference: str
    batch_size: int
    atol: float
    rtol: float
    top_k: int
    max_abs_error: float
    worst_error_ratio: float  # largest |diff| / (atol + rtol * |ref|); <= 1 passes
    ranking_mismatches: int  # rows whose top-k ranking differs beyond ties
    saturated_fraction: float  # of both outputs within 1e-6 of 0 or 1: errors hide there
    passed: bool
    map: float | None = None  # mAP x 100 on the evaluation split, when the export stage gave one
    reference_map: float | None = None  # PyTorch's mAP there
    map_loss: float | None = None
    refused: str | None = None  # why the artefact was not written

    @property
    def saturated(self) -> bool:
        """Too many probabilities at 0/1 for this check to show an error (see ``MAX_SATURATED``)."""
        return self.saturated_fraction > MAX_SATURATED

    def summary(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        return (
            f"{self.artefact} vs {self.reference} at batch {self.batch_size}: {verdict}, max abs error "
            f"{self.max_abs_error:.3g} (atol {self.atol:g}, rtol {self.rtol:g}), top-{self.top_k} ranking differs "
            f"in {self.ranking_mismatches}/{self.batch_size} rows"
            + (
                f" ({self.saturated_fraction:.0%} of the probabilities saturated at 0/1)"
                if self.saturated_fraction
                else ""
            )
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def random_images(batch_size: int, image_size: int, seed: int) -> np.ndarray:
    """Normalised-image-like inputs (B, 3, S, S): standard normal, the range CLIP normalisation gives."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch_size, 3, image_size, image_size), dtype=np.float32)


def _ranking_mismatches(reference: np.ndarray, candidate: np.ndarray, allowed: np.ndarray, top_k: int) -> int:
    k = min(top_k, reference.shape[1])
    if k <= 0:
        return 0
    ref_order = np.argsort(-reference, axis=1, kind="stable")[:, :k]
    cand_order = np.argsort(-candidate, axis=1, kind="stable")[:, :k]
    rows = np.arange(reference.shape[0])[:, None]
    # A different label at rank i is a tie (not a mismatch) when the reference scores of the two
    # labels are within the tolerance of each other.
    gap = np.abs(reference[rows, cand_order] - reference[rows, ref_order])
    bad = (cand_order != ref_order) & (gap > allowed[rows, ref_order])
    return int(bad.any(axis=1).sum())


def _saturated_fraction(probabilities: np.ndarray) -> float:
    return float((np.minimum(probabilities, 1 - probabilities) < 1e-6).mean())


def compare(
    reference: np.ndarray, candidate: np.ndarray, tolerance: Tolerance, *, artefact: str, reference_name: str
) -> ValidationReport:
    """Measure ``candidate`` against ``reference`` (both (B, C) probabilities)."""
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if candidate.shape != reference.shape:
        raise ExportValidationError(
            f"{artefact} returned shape {candidate.shape}, {reference_name} {reference.shape}",
            "the exported graph does not match the model",
        )
    allowed = tolerance.atol + tolerance.rtol * np.abs(reference)
    diff = np.abs(candidate - reference)
    finite = bool(np.isfinite(candidate).all())
    max_abs = float(diff.max()) if finite else float("inf")
    ratio = float((diff / allowed).max()) if finite else float("inf")
    mismatches = (
        _ranking_mismatches(reference, candidate, allowed, tolerance.top_k) if finite else len(reference)
    )
    saturated = max(_saturated_fraction(reference), _saturated_fraction(candidate) if finite else 0.0)
    return ValidationReport(
        artefact=artefact,
        reference=reference_name,
        batch_size=int(reference.shape[0]),
        atol=tolerance.atol,
        rtol=tolerance.rtol,
        top_k=tolerance.top_k,
        max_abs_error=max_abs,
        worst_error_ratio=ratio,
        ranking_mismatches=mismatches,
        saturated_fraction=saturated,
        passed=finite and ratio <= 1.0 and mismatches == 0,
    )


Runner = Callable[[np.ndarray], np.ndarray]


def validate(
    candidate: Runner,
    reference: Runner,
    *,
    image_size: int,
    tolerance: Tolerance,
    settings: ValidationSettings,
    artefact: str,
    reference_name: str,
    images: np.ndarray | None = None,
) -> ValidationReport:
    """Run both on the same batch (fresh random images unless ``images``); raise
    :class:`ExportValidationError` unless they agree."""
    if images is None:
        images = random_images(settings.batch_size, image_size, settings.seed)
    report = compare(
        reference(images), candidate(images), tolerance, artefact=artefact, reference_name=reference_name
    )
    if report.saturated and not settings.allow_saturated:
        raise ExportValidationError(
            f"export validation of {artefact} proves nothing: {report.saturated_fraction:.0%} of the "
            f"probabilities on the validation inputs are saturated at 0/1 (more than {MAX_SATURATED:.0%}), "
            "where a wrong export agrees as well as a right one",
            "export a classifier that is not saturated (the train stage warns; lower train.aggregation_scale), "
            "or set [export] allow_saturated = true to keep exports this check cannot judge",
        )
    if report.saturated:
        log.warning(
            "export: %s kept unjudged: %.0f%% of the probabilities are saturated at 0/1 ([export] allow_saturated)",
            artefact,
            100 * report.saturated_fraction,
        )
    if not report.passed:
        raise ExportValidationError(
            f"export validation failed: {report.summary()}",
            "the exported model does not reproduce the original; rerun with --debug and report it",
        )
    return report

"""Stage ``export``: turn the trained classifier into what ``[[exporters]]`` asks for, under ``export/``.

Every artefact is validated as it is written (see tailorgen.exporters.validation); the reports go to
the stage summary and ``export/validation.json``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.config import PluginSpec
from tailorgen.context import RunContext
from tailorgen.errors import TailorgenError
from tailorgen.io import atomic_write_json

if TYPE_CHECKING:
    from tailorgen.exporters.validation_settings import ValidationSettings

__all__ = ["Settings", "plan", "run", "validate", "validation_settings"]

logger = logging.getLogger(__name__)

#: what runs when the config lists no [[exporters]]
DEFAULT_EXPORTERS = (PluginSpec(plugin="onnx"),)


class Settings(BaseModel):
    """``[export]``: what to export and how exports are checked (the formats are ``[[exporters]]``)."""

    model_config = ConfigDict(extra="forbid")

    classifier: str = Field("classifier", description="Classifier directory, relative to the run directory.")
    validation_batch_size: int = Field(
        3,
        ge=1,
        description="Batch of fresh random images every export is validated on (not the export batch).",
    )
    map_budget: float = Field(
        1.0,
        ge=0,
        description="mAP points (x100) a variant may lose against PyTorch on the evaluation split "
        "([evaluate] dataset/split); a variant losing more is refused (not written).",
    )
    allow_saturated: bool = Field(
        False,
        description="Keep exports whose check is mostly at probabilities 0/1, where it proves nothing "
        "(random demo models); by default such an export fails.",
    )
    calibration_images: int = Field(
        64, ge=1, description="Synthetic images of this run that static int8 (int8_static) is calibrated on."
    )


def _exporters(ctx: RunContext) -> list[tuple[str, PluginSpec]]:
    specs = ctx.config.exporters or list(DEFAULT_EXPORTERS)
    return [(f"exporters[{i}]", spec) for i, spec in enumerate(specs)]


def _classifier_dir(ctx: RunContext, settings: Settings) -> Path:
    return ctx.run_dir / settings.classifier


def validate(ctx: RunContext) -> None:
    ctx.settings("export", Settings)
    for key, spec in _exporters(ctx):
        ctx.validated_options("exporter", spec, key)


def _accuracy_data(ctx: RunContext, names: list[str]) -> tuple[list[str], list[list[int]]]:
    """The evaluation split ([evaluate] dataset/split) every artefact's mAP is measured on; none
    when the config has no evaluation data set (artefacts are then checked on random inputs only)."""
    evaluate = ctx.config.evaluate
    key = evaluate.get("dataset")
    if not key or key not in ctx.config.datasets:
        return [], []
    data = ctx.create("dataset", f"datasets.{key}", ctx.config.datasets[key])
    split = data.load(evaluate.get("split", "test"), names, ctx.labels)
    return [str(p) for p in split.paths], (split.targets.numpy() > 0).astype(int).tolist()


def _calibration_images(ctx: RunContext, count: int) -> list[str]:
    """A seeded sample of this run's synthetic images (none when the run has not generated any)."""
    import random

    from tailorgen.io import read_jsonl

    metadata = ctx.path("synthetic") / "metadata.jsonl"
    if not metadata.is_file():
        return []
    names = sorted(str(row["file_name"]) for row in read_jsonl(metadata))
    chosen = random.Random(ctx.seed_for("export", "calibration")).sample(names, min(count, len(names)))
    return [str(ctx.path("synthetic") / name) for name in chosen]


def _check_on_disk(out: Path, artefacts: list[dict[str, Any]]) -> None:
    """Every artefact a report says was written is still there (exporters share ``export/``:
    one must never remove another's files, or validation.json would list what is gone)."""
    gone = sorted(
        {
            f"{report['artefact']} ({artefact['plugin']})"
            for artefact in artefacts
            for report in artefact["validation"]
            if not report.get("refused") and not (out / str(report["artefact"])).is_file()
        }
    )
    if gone:
        raise TailorgenError(
            f"export: {', '.join(gone)} passed validation but is no longer in {out}",
            "a later exporter removed it: list the exporters in another order and report it",
        )


def validation_settings(ctx: RunContext, names: list[str]) -> ValidationSettings:
    """How this run's exports are checked: random inputs seeded from the run, the evaluation split
    as the mAP judge, a sample of the run's synthetic images for static int8."""
    from tailorgen.exporters.validation_settings import ValidationSettings

    settings: Settings = ctx.settings("export", Settings)
    images, targets = _accuracy_data(ctx, names)
    return ValidationSettings(
        batch_size=settings.validation_batch_size,
        seed=ctx.seed_for("export", "inputs"),
        map_budget=settings.map_budget,
        allow_saturated=settings.allow_saturated,
        calibration_images=_calibration_images(ctx, settings.calibration_images),
        accuracy_images=images,
        accuracy_targets=targets,
    )


def plan(ctx: RunContext) -> dict[str, Any]:
    settings: Settings = ctx.settings("export", Settings)
    return {
        "classifier": str(_classifier_dir(ctx, settings)),
        "out_dir": str(ctx.path("export")),
        "validation_batch_size": settings.validation_batch_size,
        "exporters": [
            {"plugin": spec.plugin, "options": ctx.validated_options("exporter", spec, key).model_dump()}
            for key, spec in _exporters(ctx)
        ],
    }


def run(ctx: RunContext) -> dict[str, Any]:
    from tailorgen.classifier import Classifier
    from tailorgen.exporters.base import ValidatingExporter

    settings: Settings = ctx.settings("export", Settings)
    source = _classifier_dir(ctx, settings)
    if not (source / "model.safetensors").is_file():
        raise TailorgenError(f"export needs a trained classifier in {source}", "run the train stage first")
    classifier = Classifier.from_pretrained(str(source))
    out = ctx.path("export")
    out.mkdir(parents=True, exist_ok=True)
    validation = validation_settings(ctx, classifier.label_names)
    artefacts = []
    for key, spec in _exporters(ctx):
        exporter = ctx.create("exporter", key, spec)
        if isinstance(exporter, ValidatingExporter):
            exporter.validation = validation
        logger.info(f"[tailorgen] export: {spec.plugin}")
        path = Path(exporter.export(classifier, out))
        reports = [report.as_dict() for report in getattr(exporter, "reports", [])]
        for report in getattr(exporter, "reports", []):
            logger.info(f"[tailorgen]   {report.summary()}")
        artefacts.append({"plugin": spec.plugin, "path": path.name, "validation": reports})
    _check_on_disk(out, artefacts)
    summary = {"classifier": settings.classifier, "artefacts": artefacts}
    atomic_write_json(out / "validation.json", summary)
    return summary

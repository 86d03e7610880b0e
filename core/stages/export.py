"""Stage ``export``: turn the trained classifier into what ``[[exporters]]`` asks for, under ``export/``.

Every artefact is validated as it is written (see tailorgen.exporters.validation); the reports go to
the stage summary and ``export/validation.json``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.config import PluginSpec
from tailorgen.context import RunContext
from tailorgen.errors import TailorgenError
from tailorgen.io import atomic_write_json

__all__ = ["Settings", "plan", "run", "validate"]

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


def _exporters(ctx: RunContext) -> list[tuple[str, PluginSpec]]:
    specs = ctx.config.exporters or list(DEFAULT_EXPORTERS)
    return [(f"exporters[{i}]", spec) for i, spec in enumerate(specs)]


def _classifier_dir(ctx: RunContext, settings: Settings) -> Path:
    return ctx.run_dir / settings.classifier


def validate(ctx: RunContext) -> None:
    ctx.settings("export", Settings)
    for key, spec in _exporters(ctx):
        ctx.validated_options("exporter", spec, key)


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
    from tailorgen.exporters.base import ValidatingExporter, ValidationSettings

    settings: Settings = ctx.settings("export", Settings)
    source = _classifier_dir(ctx, settings)
    if not (source / "model.safetensors").is_file():
        raise TailorgenError(f"export needs a trained classifier in {source}", "run the train stage first")
    classifier = Classifier.from_pretrained(str(source))
    out = ctx.path("export")
    out.mkdir(parents=True, exist_ok=True)
    validation = ValidationSettings(
        batch_size=settings.validation_batch_size, seed=ctx.seed_for("export", "inputs")
    )
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
    summary = {"classifier": settings.classifier, "artefacts": artefacts}
    atomic_write_json(out / "validation.json", summary)
    return summary

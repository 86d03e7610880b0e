"""The ``onnx`` exporter: one validated ``model.onnx`` (plus optional fp16 / optimised / int8 variants).

Heavy libraries (torch, onnx, onnxruntime) load only when an export runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tailorgen.errors import ConfigError
from tailorgen.exporters.base import ValidatingExporter
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.io import atomic_path
from tailorgen.registry import hookimpl

if TYPE_CHECKING:
    from tailorgen.exporters.validation import Tolerance, ValidationReport

__all__ = ["OnnxExporter", "OnnxOptions", "register_exporters", "variant_path"]


class OnnxOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_name: str = Field("model.onnx", description="File written under the export directory.")
    export_batch_size: int = Field(
        2, ge=1, description="Batch of the example input the graph is traced with."
    )
    fp16: bool = Field(
        False, description="Also write <name>.fp16.onnx (float16 inside, float32 inputs/outputs)."
    )
    optimize: bool = Field(
        False, description="Also write <name>.optimized.onnx (onnxruntime graph optimisations)."
    )
    int8: bool = Field(False, description="Also write <name>.int8.onnx (dynamic int8 quantisation).")
    int8_static: bool = Field(
        False,
        description="Also write <name>.int8-static.onnx (static QDQ int8 calibrated on the run's synthetic images).",
    )
    pixels: bool = Field(
        False,
        description="Also write <name>.pixels.onnx: uint8 RGB pixels (N, H, W, 3) in, resize and "
        "normalisation inside the graph.",
    )
    pixels_size: tuple[int, int] | None = Field(
        None, description="Fixed (height, width) of the pixels variant's input (default: any size)."
    )

    @field_validator("file_name")
    @classmethod
    def _onnx_name(cls, value: str) -> str:
        if not value.endswith(".onnx") or "/" in value:
            raise ValueError("must be a plain file name ending in .onnx")
        return value


def variant_path(path: Path, suffix: str) -> Path:
    """``model.onnx`` + ``fp16`` -> ``model.fp16.onnx``."""
    return path.with_name(f"{path.stem}.{suffix}.onnx")


class OnnxExporter(ValidatingExporter):
    """Export to ONNX with the label set baked in; validated against PyTorch with onnxruntime."""

    name = "onnx"
    description = "ONNX model with a dynamic batch axis, validated with onnxruntime against PyTorch"
    Options = OnnxOptions
    options: OnnxOptions

    def export(self, classifier: Any, out_dir: Any) -> Path:
        self._begin_export(classifier)
        metadata = ModelMetadata.from_classifier(classifier)
        path = Path(out_dir) / self.options.file_name
        self._write_model(classifier, path, metadata)
        for option, (suffix, convert, tolerance, images) in self._variants(metadata).items():
            target = variant_path(path, suffix)
            if not getattr(self.options, option):
                target.unlink(missing_ok=True)  # a variant of an older model must not outlive it
                continue
            self._write_variant(
                target,
                lambda tmp, c=convert: c(path, tmp, metadata),
                lambda tmp, t=tolerance, i=images, name=target.name: self._check(classifier, tmp, t, name, i),
            )
        self._export_pixels(classifier, path, metadata)
        return path

    def provide(self, classifier: Any, out_dir: Any, variant: str | None = None) -> tuple[Path, Path | None]:
        """(``model.onnx``, its ``variant`` or None if refused) of ``classifier`` for another exporter
        to build from, in the shared export folder: files already there are kept when they reproduce
        PyTorch (the ``onnx`` exporter wrote them), else written here. Nothing else is touched,
        except the variants of an older ``model.onnx`` this replaces. Each file gets a report."""
        from tailorgen.exporters.validation import FP32

        self._begin_export(classifier)
        metadata = ModelMetadata.from_classifier(classifier)
        path = Path(out_dir) / self.options.file_name
        if self._kept(classifier, path, FP32, limit=False) is None:
            for suffix in (*(spec[0] for spec in self._variants(metadata).values()), "pixels"):
                variant_path(path, suffix).unlink(missing_ok=True)  # they belong to the older model
            self._write_model(classifier, path, metadata)
        if variant is None:
            return path, path
        suffix, convert, tolerance, _ = self._variants(metadata)[variant]
        target = variant_path(path, suffix)
        if self._kept(classifier, target, tolerance) is None:
            self._write_variant(
                target,
                lambda tmp: convert(path, tmp, metadata),
                lambda tmp: self._check(classifier, tmp, tolerance, target.name),
            )
        return path, target if target.is_file() else None

    def _begin_export(self, classifier: Any) -> None:
        if self.validation.batch_size == self.options.export_batch_size:
            raise ConfigError(
                f"export validation batch size {self.validation.batch_size} equals the onnx export batch size",
                "validation must use another batch size to prove the batch axis is dynamic",
            )
        self._begin(classifier)

    def _write_model(self, classifier: Any, path: Path, metadata: ModelMetadata) -> None:
        """The fp32 graph: validated against PyTorch, its mAP measured (never refused: it is the model)."""
        from tailorgen.exporters.onnx_graph import export_graph
        from tailorgen.exporters.validation import FP32
        from tailorgen.predict.onnx_backend import open_onnx

        with atomic_path(path, suffix=".onnx") as tmp:  # a model that fails validation never lands
            export_graph(classifier, tmp, metadata, self.options.export_batch_size)
            report = self._check(classifier, tmp, FP32, path.name)
            self.reports.append(self._judged(report, open_onnx(tmp), limit=False))

    def _kept(self, classifier: Any, path: Path, tolerance: Tolerance, *, limit: bool = True) -> Any:
        """The report of ``path`` as it is on disk, or None when it is missing or not this
        classifier's (it fails validation); judged like a new file (refused: removed)."""
        from dataclasses import replace

        from tailorgen.exporters.accuracy import VariantRefusedError
        from tailorgen.predict.onnx_backend import open_onnx

        if not path.is_file():
            return None
        try:
            report = self._check(classifier, path, tolerance, path.name)
        except Exception:  # disagrees, or cannot even run this classifier's input: another model
            return None
        try:
            report = self._judged(report, open_onnx(path), limit=limit)
        except VariantRefusedError as refusal:
            path.unlink(missing_ok=True)
            report = replace(report, **refusal.result, refused=refusal.reason)
        self.reports.append(report)
        return report

    def _variants(self, metadata: ModelMetadata) -> dict[str, tuple[str, Any, Tolerance, Any]]:
        """option -> (file suffix, converter, tolerance, validation images or None for random ones)."""
        from functools import partial

        from tailorgen.exporters.onnx_variants import VARIANTS, quantize_int8_static
        from tailorgen.exporters.validation import INT8_STATIC

        variants: dict[str, tuple[str, Any, Tolerance, Any]] = {
            option: (*spec, None) for option, spec in VARIANTS.items()
        }
        calibration, held_out = self._calibration_batches() if self.options.int8_static else ([None], None)
        convert = partial(quantize_int8_static, calibration=calibration)
        variants["int8_static"] = ("int8-static", convert, INT8_STATIC, held_out)  # listed even when off:
        return variants  # an older export's file is then removed

    def _calibration_batches(self, batch_size: int = 8) -> tuple[list[Any], Any]:
        """(calibration batches, the held-out batch static int8 is checked on): the last
        ``validation.batch_size`` calibration images are kept out of the calibration."""
        paths = self.validation.calibration_images
        held = self.validation.batch_size
        if len(paths) <= held:
            raise ConfigError(
                f"the onnx exporter's int8_static needs more than {held} calibration images and has {len(paths)}"
                f" ({held} are held out to check it)",
                "export from a run with synthetic images (tailorgen run CONFIG --stages export), "
                "or set int8_static = false",
            )
        from tailorgen.predict.images import load_image

        assert self._reference is not None
        calibrate, check = paths[:-held], paths[-held:]
        batches = [
            self._reference.preprocess([load_image(p) for p in calibrate[i : i + batch_size]])
            for i in range(0, len(calibrate), batch_size)
        ]
        return batches, self._reference.preprocess([load_image(p) for p in check])

    def _write_variant(self, target: Path, write: Any, check: Any, judged: bool = True) -> None:
        """Write, validate and judge one variant; a refused one is not written (an older copy goes)."""
        from dataclasses import replace

        from tailorgen.exporters.accuracy import VariantRefusedError
        from tailorgen.predict.onnx_backend import open_onnx

        report = None
        try:
            with atomic_path(target, suffix=".onnx") as tmp:
                write(tmp)
                report = check(tmp)
                self.reports.append(self._judged(report, open_onnx(tmp)) if judged else report)
        except VariantRefusedError as refusal:
            target.unlink(missing_ok=True)
            self.reports.append(replace(report, **refusal.result, refused=refusal.reason))

    def _export_pixels(self, classifier: Any, path: Path, metadata: ModelMetadata) -> None:
        """The uint8-input variant, validated on pictures of several sizes against PIL preprocessing."""
        from tailorgen.exporters.onnx_pixels import (
            PIXELS,
            add_pixel_preprocessing,
            check_pixels,
            sample_pictures,
        )
        from tailorgen.exporters.validation import ExportValidationError
        from tailorgen.predict.onnx_backend import PixelsOnnxPredictor

        target = variant_path(path, "pixels")
        if not self.options.pixels:
            target.unlink(missing_ok=True)
            return
        size = self.options.pixels_size
        sizes = [size] * 2 if size else [(48, 80), (90, 60), (64, 64), (33, 47)]
        pictures = sample_pictures(sizes * self.validation.batch_size, self.validation.seed)

        def check(tmp: Path) -> ValidationReport:
            report = check_pixels(PixelsOnnxPredictor(tmp), self._reference, pictures, PIXELS, target.name)
            if not report.passed:
                raise ExportValidationError(
                    f"export validation failed: {report.summary()}",
                    "the in-graph preprocessing does not reproduce PIL's; rerun with --debug and report it",
                )
            return report

        # a fixed input size cannot take the evaluation images as they are: judged by the check only
        self._write_variant(
            target, lambda tmp: add_pixel_preprocessing(path, tmp, metadata, size), check, judged=size is None
        )

    def _check(
        self, classifier: Any, path: Path, tolerance: Tolerance, artefact: str, images: Any = None
    ) -> ValidationReport:
        from tailorgen.exporters.validation import validate
        from tailorgen.predict.onnx_backend import OnnxPredictor

        assert self._reference is not None
        candidate = OnnxPredictor(path, provider="cpu")
        return validate(
            candidate.probabilities,
            self._reference.probabilities,
            image_size=candidate.metadata.image_size,
            tolerance=tolerance,
            settings=self.validation,
            artefact=artefact,
            reference_name="PyTorch",
            images=images,
        )


@hookimpl
def register_exporters(register: Any) -> None:
    register(OnnxExporter)

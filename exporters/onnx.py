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
        from tailorgen.exporters.onnx_graph import export_graph
        from tailorgen.exporters.onnx_variants import VARIANTS
        from tailorgen.exporters.validation import FP32

        if self.validation.batch_size == self.options.export_batch_size:
            raise ConfigError(
                f"export validation batch size {self.validation.batch_size} equals the onnx export batch size",
                "validation must use another batch size to prove the batch axis is dynamic",
            )
        metadata = ModelMetadata.from_classifier(classifier)
        path = Path(out_dir) / self.options.file_name
        self.reports = []
        with atomic_path(path, suffix=".onnx") as tmp:  # a model that fails validation never lands
            export_graph(classifier, tmp, metadata, self.options.export_batch_size)
            self.reports.append(self._check(classifier, tmp, FP32, path.name))
        for option, (suffix, convert, tolerance) in VARIANTS.items():
            target = variant_path(path, suffix)
            if not getattr(self.options, option):
                target.unlink(missing_ok=True)  # a variant of an older model must not outlive it
                continue
            with atomic_path(target, suffix=".onnx") as tmp:
                convert(path, tmp, metadata)
                self.reports.append(self._check(classifier, tmp, tolerance, target.name))
        self._export_pixels(classifier, path, metadata)
        return path

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
        from tailorgen.predict.torch_backend import TorchPredictor

        target = variant_path(path, "pixels")
        if not self.options.pixels:
            target.unlink(missing_ok=True)
            return
        size = self.options.pixels_size
        sizes = [size] * 2 if size else [(48, 80), (90, 60), (64, 64), (33, 47)]
        pictures = sample_pictures(sizes * self.validation.batch_size, self.validation.seed)
        with atomic_path(target, suffix=".onnx") as tmp:
            add_pixel_preprocessing(path, tmp, metadata, size)
            report = check_pixels(
                PixelsOnnxPredictor(tmp),
                TorchPredictor(classifier, _device_of(classifier)),
                pictures,
                PIXELS,
                target.name,
            )
            if not report.passed:
                raise ExportValidationError(
                    f"export validation failed: {report.summary()}",
                    "the in-graph preprocessing does not reproduce PIL's; rerun with --debug and report it",
                )
            self.reports.append(report)

    def _check(self, classifier: Any, path: Path, tolerance: Tolerance, artefact: str) -> ValidationReport:
        from tailorgen.exporters.validation import validate
        from tailorgen.predict.onnx_backend import OnnxPredictor
        from tailorgen.predict.torch_backend import TorchPredictor

        candidate = OnnxPredictor(path, provider="cpu")
        return validate(
            candidate.probabilities,
            TorchPredictor(classifier, _device_of(classifier)).probabilities,
            image_size=candidate.metadata.image_size,
            tolerance=tolerance,
            settings=self.validation,
            artefact=artefact,
            reference_name="PyTorch",
        )


def _device_of(module: Any) -> str:
    return str(next(module.parameters()).device)


@hookimpl
def register_exporters(register: Any) -> None:
    register(OnnxExporter)

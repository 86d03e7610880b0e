"""The ``tensorrt`` exporter: a serialized engine built from the validated ONNX model.

TensorRT is an optional extra, imported only when this exporter runs; without it the export stops
with one line saying how to install it. The engine file name carries the GPU and TensorRT version
it was built for (engines run nowhere else); its metadata goes to ``<engine>.json``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tailorgen.errors import ConfigError, TailorgenError
from tailorgen.exporters.base import ValidatingExporter
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.io import atomic_path, atomic_write_text
from tailorgen.registry import hookimpl

__all__ = ["TensorRTExporter", "TensorRTOptions", "gpu_name", "register_exporters"]

log = logging.getLogger(__name__)


class TensorRTOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    precision: Literal["fp32", "fp16"] = Field("fp32", description="fp16 builds from model.fp16.onnx.")
    min_batch: int = Field(1, ge=1, description="Smallest batch the engine accepts.")
    opt_batch: int = Field(8, ge=1, description="Batch the engine is tuned for.")
    max_batch: int = Field(32, ge=1, description="Largest batch the engine accepts.")
    workspace_gib: float | None = Field(
        None, gt=0, description="Builder workspace limit (default: TensorRT's)."
    )
    tf32: bool = Field(False, description="Allow TF32 maths in fp32 engines (faster; validated as fp16).")
    timing_cache: str | None = Field(
        None, description="Timing cache file (default: export dir); share it between runs to build faster."
    )
    device: int = Field(0, ge=0, description="CUDA device index.")

    @model_validator(mode="after")
    def _ordered(self) -> TensorRTOptions:
        if not self.min_batch <= self.opt_batch <= self.max_batch:
            raise ValueError("needs min_batch <= opt_batch <= max_batch")
        return self


def gpu_name(device: int) -> str:
    import torch

    if not torch.cuda.is_available():
        raise TailorgenError(
            "the tensorrt exporter needs a CUDA GPU and none is visible", "run it on a GPU machine"
        )
    return torch.cuda.get_device_name(device)


class TensorRTExporter(ValidatingExporter):
    """Build a TensorRT engine from the exported ONNX model; validated against onnxruntime."""

    name = "tensorrt"
    description = "TensorRT engine (optimisation profile over the batch axis), validated against onnxruntime"
    Options = TensorRTOptions
    options: TensorRTOptions

    def export(self, classifier: Any, out_dir: Any) -> Path:
        from tailorgen.exporters.tensorrt_build import device_key, engine_file_name
        from tailorgen.predict.tensorrt_backend import device_index, metadata_path, require_tensorrt

        trt = require_tensorrt()  # before any work: the install hint is the whole answer
        o = self.options
        if not o.min_batch <= self.validation.batch_size <= o.max_batch:
            raise ConfigError(
                f"export validation batch size {self.validation.batch_size} is outside the TensorRT profile "
                f"{o.min_batch}..{o.max_batch}",
                "change [export] validation_batch_size or the tensorrt min_batch/max_batch options",
            )
        gpu = gpu_name(device_index(o.device))
        out = Path(out_dir)
        reference, source = self._onnx_models(classifier, out)
        engine = out / engine_file_name(source.name.removesuffix(".onnx"), gpu, trt.__version__)
        cache = (
            Path(o.timing_cache)
            if o.timing_cache
            else out / f"timing.{device_key(gpu, trt.__version__)}.cache"
        )
        metadata = ModelMetadata.from_classifier(classifier)
        exact = source == reference and not o.tf32
        self._build(
            trt, source, engine, cache, lambda tmp: self._check(tmp, reference, engine.name, exact, metadata)
        )
        if engine.is_file():
            atomic_write_text(metadata_path(engine), metadata.model_dump_json(indent=2) + "\n")
        else:  # refused: its metadata must not outlive it
            metadata_path(engine).unlink(missing_ok=True)
        return engine

    def _build(self, trt: Any, source: Path, engine: Path, cache: Path, check: Any) -> None:
        """Build on the options' device, check and judge; a refused engine is not written (an older one goes)."""
        from dataclasses import replace

        from tailorgen.exporters.accuracy import VariantRefusedError
        from tailorgen.exporters.tensorrt_build import BatchProfile, build_engine
        from tailorgen.predict import tensorrt_backend

        o = self.options
        report = None
        try:
            with atomic_path(engine, suffix=".engine") as tmp:  # an engine that fails validation never lands
                with tensorrt_backend.on_device(o.device):  # TensorRT builds on the current device
                    build_engine(
                        trt,
                        source,
                        tmp,
                        profile=BatchProfile(o.min_batch, o.opt_batch, o.max_batch),
                        timing_cache=cache,
                        workspace_bytes=int(o.workspace_gib * 2**30) if o.workspace_gib else None,
                        tf32=o.tf32,
                    )
                report, predictor = check(tmp)
                self.reports.append(self._judged(report, predictor))
        except VariantRefusedError as refusal:
            engine.unlink(missing_ok=True)
            self.reports.append(replace(report, **refusal.result, refused=refusal.reason))

    def _onnx_models(self, classifier: Any, out: Path) -> tuple[Path, Path]:
        """(fp32 ONNX = the reference, ONNX to build from): the ``onnx`` exporter's files in the shared
        export folder when they are this classifier's, else written (and judged) here. An fp16
        source refused by the mAP budget is replaced by the fp32 model, with a warning."""
        from tailorgen.exporters.onnx import OnnxExporter

        onnx = OnnxExporter()
        onnx.validation = self.validation
        fp16 = self.options.precision == "fp16"
        reference, source = onnx.provide(classifier, out, "fp16" if fp16 else None)
        self.reports = list(onnx.reports)
        self._reference, self._judge = onnx._reference, onnx._judge
        if source is None:
            log.warning(
                "export: tensorrt builds from %s (fp32): its fp16 source was refused by the mAP budget",
                reference.name,
            )
            return reference, reference
        return reference, source

    def _check(
        self, engine: Path, reference: Path, artefact: str, exact: bool, metadata: ModelMetadata
    ) -> Any:
        """(report against onnxruntime, the engine's predictor: it is judged by mAP like every ONNX variant)."""
        from tailorgen.exporters.validation import FP16, FP32, validate
        from tailorgen.predict.onnx_backend import OnnxPredictor
        from tailorgen.predict.tensorrt_backend import TensorRTPredictor

        baseline = OnnxPredictor(reference, provider="cpu")
        predictor = TensorRTPredictor(engine, device=self.options.device, metadata=metadata)
        report = validate(
            predictor.runner,
            baseline.probabilities,
            image_size=baseline.metadata.image_size,
            tolerance=FP32 if exact else FP16,
            settings=self.validation,
            artefact=artefact,
            reference_name="onnxruntime",
        )
        return report, predictor


@hookimpl
def register_exporters(register: Any) -> None:
    register(TensorRTExporter)

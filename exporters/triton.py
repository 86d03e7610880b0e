"""The ``triton`` exporter: a Triton Inference Server model repository, loadable as it is.

Under the export directory it writes::

    model_repository/
      NAME/config.pbtxt  NAME/labels.txt  NAME/1/model.onnx           (onnxruntime_onnx)
      NAME_tensorrt/...                    NAME_tensorrt/1/model.plan  (with tensorrt = true)

The config names the graph's input and output with their shapes (the batch axis left to
``max_batch_size``), turns on dynamic batching, and points the output at the label file, so
Triton's classification extension answers with label names.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tailorgen.exporters.base import ValidatingExporter
from tailorgen.io import atomic_path, atomic_write_text
from tailorgen.registry import hookimpl

__all__ = ["TritonExporter", "TritonOptions", "register_exporters", "write_model"]

#: ONNX element type -> Triton data type
_TRITON_TYPES = {
    1: "TYPE_FP32",
    10: "TYPE_FP16",
    11: "TYPE_FP64",
    7: "TYPE_INT64",
    6: "TYPE_INT32",
    2: "TYPE_UINT8",
}


class TritonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_name: str = Field(
        "tailorgen", pattern=r"^[A-Za-z0-9_.-]+$", description="Model name in the repository (its folder)."
    )
    directory: str = Field("model_repository", description="Repository folder under the export directory.")
    min_batch: int = Field(1, ge=1, description="Smallest batch (the TensorRT profile's minimum).")
    opt_batch: int = Field(8, ge=1, description="Batch the TensorRT engine is tuned for.")
    max_batch: int = Field(
        32, ge=1, description="Triton's max_batch_size (and the TensorRT profile's maximum)."
    )
    max_queue_delay_us: int = Field(
        2000, ge=0, description="Longest Triton holds a request waiting for others to batch with."
    )
    instances: int = Field(1, ge=1, description="Model instances Triton runs.")
    kind: Literal["cpu", "gpu"] = Field("cpu", description="Where the ONNX model's instances run.")
    tensorrt: bool = Field(
        False, description="Also build a TensorRT engine: model NAME_tensorrt (needs a GPU)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> TritonOptions:
        if not self.min_batch <= self.opt_batch <= self.max_batch:
            raise ValueError("needs min_batch <= opt_batch <= max_batch")
        return self


def _tensor(value: Any, label_file: str | None = None) -> str:
    """One input/output entry: name, type and the dims after the batch axis."""
    kind = value.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in kind.shape.dim][1:]
    labels = f'\n    label_filename: "{label_file}"' if label_file else ""
    return (
        f'  {{\n    name: "{value.name}"\n    data_type: {_TRITON_TYPES[kind.elem_type]}\n'
        f"    dims: [ {', '.join(map(str, dims))} ]{labels}\n  }}"
    )


def config_text(onnx_path: Path, name: str, options: TritonOptions, platform: str) -> str:
    """``config.pbtxt`` for the graph in ``onnx_path`` (its weights are not loaded)."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    preferred = sorted({b for b in (options.opt_batch, options.max_batch) if b > 1})
    kind = "KIND_GPU" if platform == "tensorrt_plan" else f"KIND_{options.kind.upper()}"
    lines = [
        f'name: "{name}"',
        f'platform: "{platform}"',
        f"max_batch_size: {options.max_batch}",
        "input [\n" + ",\n".join(_tensor(v) for v in graph.input) + "\n]",
        "output [\n" + ",\n".join(_tensor(v, "labels.txt") for v in graph.output) + "\n]",
        "dynamic_batching {\n"
        + "".join(f"  preferred_batch_size: {b}\n" for b in preferred)
        + f"  max_queue_delay_microseconds: {options.max_queue_delay_us}\n}}",
        f"instance_group [\n  {{\n    count: {options.instances}\n    kind: {kind}\n  }}\n]",
    ]
    return "\n".join(lines) + "\n"


def write_model(
    repository: Path,
    name: str,
    onnx_path: Path,
    label_names: list[str],
    *,
    options: TritonOptions,
    engine: Path | None = None,
) -> Path:
    """Write model ``name`` into ``repository``: the ONNX model, or ``engine`` as ``model.plan``."""
    folder = repository / name
    (folder / "1").mkdir(parents=True, exist_ok=True)
    platform = "tensorrt_plan" if engine else "onnxruntime_onnx"
    artefact = folder / "1" / ("model.plan" if engine else "model.onnx")
    with atomic_path(artefact, suffix=artefact.suffix) as tmp:
        shutil.copyfile(engine or onnx_path, tmp)
    atomic_write_text(folder / "labels.txt", "".join(f"{label}\n" for label in label_names))
    atomic_write_text(folder / "config.pbtxt", config_text(onnx_path, name, options, platform))
    return folder


class TritonExporter(ValidatingExporter):
    """A Triton model repository: config.pbtxt with dynamic batching, the model, its labels."""

    name = "triton"
    description = "Triton Inference Server model repository (ONNX, plus a TensorRT plan with tensorrt = true)"
    Options = TritonOptions
    options: TritonOptions

    def export(self, classifier: Any, out_dir: Any) -> Path:
        from tailorgen.exporters.onnx import OnnxExporter

        out = Path(out_dir)
        o = self.options
        engine = None
        if o.tensorrt:  # builds (and validates) model.onnx too
            from tailorgen.exporters.tensorrt import TensorRTExporter, TensorRTOptions

            exporter: Any = TensorRTExporter(
                TensorRTOptions(min_batch=o.min_batch, opt_batch=o.opt_batch, max_batch=o.max_batch)
            )
        else:
            exporter = OnnxExporter()
        exporter.validation = self.validation
        written = Path(exporter.export(classifier, out))
        self.reports = list(exporter.reports)
        onnx_path = out / "model.onnx"
        engine = written if o.tensorrt else None
        repository = out / o.directory
        labels = list(classifier.label_names)
        if engine is not None:
            write_model(repository, f"{o.model_name}_tensorrt", onnx_path, labels, options=o, engine=engine)
        # exporters return a file: the main model's config (the repository is two folders up)
        return write_model(repository, o.model_name, onnx_path, labels, options=o) / "config.pbtxt"


@hookimpl
def register_exporters(register: Any) -> None:
    register(TritonExporter)

"""Derived ONNX models: fp16 weights, an onnxruntime-optimised graph, dynamic int8 quantisation.

Each variant is validated against PyTorch with its own, looser tolerance (see ``VARIANTS``); static
int8 (calibrated on images the export stage provides) is built by the exporter itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.exporters.onnx_graph import INPUT_NAME, save_model
from tailorgen.exporters.validation import FP16, FP32, INT8, Tolerance

__all__ = ["VARIANTS", "optimize", "quantize_int8", "quantize_int8_static", "to_fp16"]


def to_fp16(source: Path, target: Path, metadata: ModelMetadata) -> None:
    """Weights and activations in float16; inputs and outputs stay float32 (same predictor code)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    save_model(convert_float_to_float16(onnx.load(str(source)), keep_io_types=True), target, metadata)


def optimize(source: Path, target: Path, metadata: ModelMetadata) -> None:
    """onnxruntime's extended graph optimisations, saved (ORT_ENABLE_ALL would add CPU-specific layouts)."""
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    save_model(onnx.load(str(target)), target, metadata)  # the optimiser drops metadata_props


def quantize_int8(source: Path, target: Path, metadata: ModelMetadata) -> None:
    """Dynamic quantisation: int8 weights, activations quantised per batch at run time."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quant_logger = logging.getLogger()  # onnxruntime.quantization warns through the root logger
    level = quant_logger.level
    quant_logger.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        quant_logger.setLevel(level)
    save_model(onnx.load(str(target)), target, metadata)


def quantize_int8_static(
    source: Path, target: Path, metadata: ModelMetadata, calibration: list[np.ndarray]
) -> None:
    """Static (QDQ) int8: activation ranges calibrated on ``calibration`` batches (the run's own
    synthetic images, preprocessed as the classifier does), int8 weights per channel."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    quant_logger = logging.getLogger()  # onnxruntime.quantization warns through the root logger
    level = quant_logger.level
    quant_logger.setLevel(logging.ERROR)
    try:
        quantize_static(
            str(source),
            str(target),
            Batches(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
        )
    finally:
        quant_logger.setLevel(level)
    save_model(onnx.load(str(target)), target, metadata)


Variant = Callable[[Path, Path, ModelMetadata], None]

#: option name -> (file suffix, converter, tolerance against PyTorch)
VARIANTS: dict[str, tuple[str, Variant, Tolerance]] = {
    "fp16": ("fp16", to_fp16, FP16),
    "optimize": ("optimized", optimize, FP32),
    "int8": ("int8", quantize_int8, INT8),
}

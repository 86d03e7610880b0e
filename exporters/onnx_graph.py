"""Classifier -> one ONNX graph: text features baked in as constants, a dynamic batch axis."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError, first_line
from tailorgen.exporters.metadata import ModelMetadata, embed_metadata

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "export_graph", "save_model"]

INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"


def save_model(model: Any, path: Path, metadata: ModelMetadata) -> None:
    """Embed ``metadata`` and write ``model`` (an onnx.ModelProto) as one self-contained file."""
    import onnx

    embed_metadata(model, metadata)
    onnx.save_model(model, str(path))


def export_graph(classifier: Any, path: Path, metadata: ModelMetadata, batch_size: int = 2) -> None:
    """Write ``classifier`` in eval mode (B, 3, S, S) -> (B, C) probabilities to ``path``."""
    import torch

    classifier.eval()  # eval mode refreshes the cached text features the graph bakes in
    device = next(classifier.parameters()).device
    example = torch.zeros(batch_size, 3, metadata.image_size, metadata.image_size, device=device)
    batch = torch.export.Dim("batch", min=1)
    # The dynamo exporter prints progress on stdout even with verbose=False in places; our stdout
    # is for machine-readable output (``--json``), so anything it prints goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            program = torch.onnx.export(
                classifier,
                (example,),
                dynamo=True,
                verbose=False,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: batch},),
            )
        except Exception as exc:  # torch.export raises many unrelated types; all mean "cannot trace"
            raise TailorgenError(
                f"torch.onnx.export failed: {first_line(exc)}", "rerun with --debug"
            ) from exc
    save_model(program.model_proto, path, metadata)

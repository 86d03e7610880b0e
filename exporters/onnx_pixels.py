"""The pixels variant: uint8 images (N, H, W, 3) in, probabilities out; preprocessing inside the graph.

A deployer feeds decoded RGB pixels and needs no preprocessing code. The graph reproduces the
classifier's eval transform (tailorgen.classifier.transforms): ONNX ``Resize`` with ``antialias``
and cubic coefficient -0.5 is PIL's antialiased bicubic filter, rounded back to uint8 levels like
PIL's output, then centre-cropped when the classifier uses ``resize = "crop"``, then normalised.
The input size is dynamic (any H, W per batch) or fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.exporters.onnx_graph import INPUT_NAME, save_model
from tailorgen.exporters.validation import Tolerance, ValidationReport, compare

__all__ = ["PIXELS", "PIXELS_INPUT", "add_pixel_preprocessing", "check_pixels"]

PIXELS_INPUT = "pixels"
#: the in-graph resize is within one uint8 level of PIL's (measured in tests/test_export_pixels.py:
#: most pictures match exactly; Pillow runs its two passes in the other order for some shapes);
#: the tiny test model's probabilities moved by < 3e-6
PIXELS = Tolerance(atol=5e-3, rtol=1e-2)
_NORMALISED = "normalised_images"


def _two_passes(node: Any, source: str, sizes: str, target: str, resize: dict[str, Any]) -> list[Any]:
    """Resize to ``sizes`` (H, W) as PIL does: the width first, then the height, each pass rounded
    and clipped to uint8 levels (PIL keeps the intermediate image in uint8). Pillow 13 sometimes
    runs the height first (e.g. 90x60 -> 64x64): those pictures differ by one level in places."""
    return [
        node("Gather", [sizes, "w_index"], [f"{target}/w"]),
        node("Gather", [sizes, "h_index"], [f"{target}/h"]),
        node("Resize", [source, "", "", f"{target}/w"], [f"{target}/wide"], axes=[3], **resize),
        node("Round", [f"{target}/wide"], [f"{target}/wide_r"]),
        node("Clip", [f"{target}/wide_r", "zero", "top_level"], [f"{target}/wide_levels"]),
        node(
            "Resize", [f"{target}/wide_levels", "", "", f"{target}/h"], [f"{target}/tall"], axes=[2], **resize
        ),
        node("Round", [f"{target}/tall"], [f"{target}/tall_r"]),
        node("Clip", [f"{target}/tall_r", "zero", "top_level"], [target]),
    ]


def _preprocess_graph(metadata: ModelMetadata, size: tuple[int, int] | None, opset: int, ir: int) -> Any:
    from onnx import TensorProto, helper, numpy_helper

    pre = metadata.preprocess
    s = metadata.image_size
    mode = str(pre.get("resize", "crop"))
    interpolation = str(pre["interpolation"])
    if interpolation not in {"bicubic", "bilinear"}:
        raise TailorgenError(
            f"the pixels export has no in-graph {interpolation} resize",
            "use a bicubic or bilinear classifier",
        )

    def const(name: str, value: Any, dtype: Any = np.float32) -> Any:
        return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)

    inits = [
        const("size_ss", [s, s], np.int64),
        const("scale_255", 1 / 255),
        const("mean", np.reshape(pre["mean"], (1, 3, 1, 1))),
        const("std", np.reshape(pre["std"], (1, 3, 1, 1))),
        const("zero", 0.0),
        const("top_level", 255.0),
        const("h_index", [0], np.int64),
        const("w_index", [1], np.int64),
    ]
    resize = {
        "mode": "cubic" if interpolation == "bicubic" else "linear",
        "cubic_coeff_a": -0.5,  # PIL's bicubic kernel (torch's own is -0.75)
        "antialias": 1,
        "exclude_outside": 1,  # PIL renormalises the kernel at the borders
        "coordinate_transformation_mode": "half_pixel",
    }
    node = helper.make_node
    nodes = [
        node("Cast", [PIXELS_INPUT], ["as_float"], to=TensorProto.FLOAT),
        node("Transpose", ["as_float"], ["nchw"], perm=[0, 3, 1, 2]),
    ]
    if mode == "whole":
        nodes += _two_passes(node, "nchw", "size_ss", "resized", resize)
    else:  # short side to S (the long one truncated, as torchvision), then the centre S x S
        inits += [const("s", float(s)), const("two", 2.0), const("hw_index", [2, 3], np.int64)]
        nodes += [
            node("Shape", ["nchw"], ["shape"]),
            node("Gather", ["shape", "hw_index"], ["hw_int"]),
            node("Cast", ["hw_int"], ["hw"], to=TensorProto.FLOAT),
            node("ReduceMin", ["hw"], ["short"], keepdims=0),
            node("Mul", ["hw", "s"], ["times_s"]),
            node("Div", ["times_s", "short"], ["scaled"]),  # the short side gives exactly S
            node("Floor", ["scaled"], ["floored"]),
            node("Cast", ["floored"], ["new_hw"], to=TensorProto.INT64),
            *_two_passes(node, "nchw", "new_hw", "full", resize),
            node("Sub", ["floored", "s"], ["excess"]),
            node("Div", ["excess", "two"], ["half_excess"]),
            node("Round", ["half_excess"], ["start_f"]),  # round half to even, like Python's round
            node("Cast", ["start_f"], ["start"], to=TensorProto.INT64),
            node("Add", ["start", "size_ss"], ["end"]),
            node("Slice", ["full", "start", "end", "hw_index"], ["resized"]),
        ]
    nodes += [
        node("Mul", ["resized", "scale_255"], ["unit"]),
        node("Sub", ["unit", "mean"], ["centred"]),
        node("Div", ["centred", "std"], [_NORMALISED]),
    ]
    height, width = size or ("height", "width")
    graph = helper.make_graph(
        nodes,
        "tailorgen_pixels",
        [helper.make_tensor_value_info(PIXELS_INPUT, TensorProto.UINT8, ["batch", height, width, 3])],
        [helper.make_tensor_value_info(_NORMALISED, TensorProto.FLOAT, ["batch", 3, s, s])],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir)


def add_pixel_preprocessing(
    source: Path, target: Path, metadata: ModelMetadata, size: tuple[int, int] | None = None
) -> None:
    """``source`` (normalised float input) with the preprocessing graph in front, written to ``target``."""
    import onnx
    from onnx import compose

    model = onnx.load(str(source))
    opset = next(o.version for o in model.opset_import if o.domain in {"", "ai.onnx"})
    pre = _preprocess_graph(metadata, size, max(opset, 18), model.ir_version)  # antialias: opset 18
    # prefix every preprocessing name except the graph's input, so none collides with the model's
    pre = compose.add_prefix(pre, "pixels/", rename_inputs=False)
    merged = compose.merge_models(pre, model, io_map=[("pixels/" + _NORMALISED, INPUT_NAME)])
    onnx.checker.check_model(merged)
    save_model(merged, target, metadata)


def sample_pictures(sizes: list[tuple[int, int]], seed: int) -> list[np.ndarray]:
    """Smooth random RGB pictures (H, W, 3) uint8: gradients plus noise, like photos rather than static."""
    rng = np.random.default_rng(seed)
    out = []
    for h, w in sizes:
        y, x = np.mgrid[0:h, 0:w]
        base = 127 + 100 * np.sin(x[..., None] / rng.uniform(4, 12, 3) + y[..., None] / rng.uniform(4, 12, 3))
        out.append(np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8))
    return out


def check_pixels(
    candidate: Any, reference: Any, pictures: list[np.ndarray], tolerance: Tolerance, artefact: str
) -> ValidationReport:
    """Both predictors on the same decoded pictures: the candidate's graph vs the reference's PIL path."""
    from PIL import Image

    want = reference.predict([Image.fromarray(p) for p in pictures])
    got = candidate.predict([Image.fromarray(p) for p in pictures])
    return compare(want, got, tolerance, artefact=artefact, reference_name="PyTorch (PIL preprocessing)")

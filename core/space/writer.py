"""``tailorgen space MODEL --out DIR``: a Gradio Space folder for an exported classifier.

The folder holds ``app.py``, ``preprocess.py`` (the eval transform without torch), ``requirements.txt``, ``README.md`` (with the Space front matter),
``labels.txt``, ``model.onnx`` and a few ``examples/``; it runs as it is with ``python app.py`` and
uploads as it is to a Space (``tailorgen publish RUN --repo-id USER/NAME --space``).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.resources
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tailorgen.errors import TailorgenError
from tailorgen.predict.images import collect_images

__all__ = ["DEFAULT_GRADIO", "REQUIREMENTS", "write_space"]

#: what the app needs besides gradio (the Space's SDK): no torch, no tailorgen
REQUIREMENTS = "onnxruntime>=1.20\nnumpy>=1.26\npillow>=10\n"
#: the Space's sdk_version when gradio is not installed here
DEFAULT_GRADIO = "5.49.1"
_FRONT_MATTER = """---
title: {title_yaml}
emoji: 🏷️
colorFrom: indigo
colorTo: green
sdk: gradio
sdk_version: {gradio}
app_file: app.py
pinned: false
license: apache-2.0
short_description: Multi-label image tagger trained on tailored synthetic images
tags:
- tailorgen
- multi-label-image-classification
- onnx
---
"""


def _onnx_model(model: str | Path) -> Path:
    from tailorgen.predict.loading import locate

    _, target = locate(str(model), "onnx")
    return Path(target)


def _examples(model: str | Path, examples: Sequence[str | Path] | None, count: int) -> list[Path]:
    """The images given, else up to ``count`` of the run's synthetic images (sorted, so stable)."""
    if examples:
        found, missing = collect_images(examples)
        if missing:
            raise TailorgenError(missing[0].error, "pass image files or folders with --example")
        return found[:count] if count else found
    synthetic = Path(model) / "synthetic"
    return collect_images([synthetic])[0][:count] if synthetic.is_dir() else []


def _readme(title: str, labels: list[str], backend_note: str) -> str:
    try:
        gradio = md.version("gradio")
    except md.PackageNotFoundError:
        gradio = DEFAULT_GRADIO
    body = (
        f"\n# {title}\n\nA multi-label image classifier trained with tailorgen on synthetic images "
        f"only. Upload an image: every label scoring at least the threshold is shown with its "
        f"probability. {backend_note}\n\n## Labels\n\n" + "".join(f"- {label}\n" for label in labels)
    )
    return _FRONT_MATTER.format(title_yaml=json.dumps(title), gradio=gradio) + body


def write_space(
    model: str | Path,
    out: str | Path,
    *,
    title: str | None = None,
    examples: Sequence[str | Path] | None = None,
    example_count: int = 4,
    top_k: int = 5,
) -> Path:
    """Write the Space for ``model`` (anything with an ONNX export) to ``out``; returns ``out``."""
    from tailorgen.exporters.metadata import read_onnx_metadata

    onnx = _onnx_model(model)
    labels = read_onnx_metadata(onnx).label_names
    title = title or f"tailorgen classifier ({len(labels)} labels)"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    template = importlib.resources.files("tailorgen.space").joinpath("templates/app.py.tmpl").read_text()
    app = template.replace("__TITLE_REPR__", repr(title)).replace("__TITLE__", title)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        staged = Path(tmp)
        shutil.copyfile(onnx, staged / "model.onnx")
        (staged / "app.py").write_text(app.replace("__TOP_K__", str(top_k)))
        (staged / "requirements.txt").write_text(REQUIREMENTS)
        shutil.copyfile(Path(__file__).with_name("preprocess.py"), staged / "preprocess.py")
        (staged / "labels.txt").write_text("".join(f"{label}\n" for label in labels))
        (staged / "README.md").write_text(
            _readme(title, labels, "The model runs with ONNX Runtime on the CPU.")
        )
        (staged / "examples").mkdir()
        for index, image in enumerate(_examples(model, examples, example_count)):
            shutil.copyfile(image, staged / "examples" / f"example{index}{image.suffix.lower()}")
        if out.exists():
            shutil.rmtree(out)  # replaced whole: no file of an older Space survives
        staged.rename(out)
        staged.mkdir()  # for TemporaryDirectory's cleanup
    return out

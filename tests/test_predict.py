"""Predictors and ``tailorgen predict``: same preprocessing and outputs across backends, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from export_helpers import tiny_classifier, write_images
from tailorgen.cli import main
from tailorgen.errors import TailorgenError
from tailorgen.exporters.onnx import OnnxExporter
from tailorgen.predict import load_predictor, onnx_backend, top_labels
from tailorgen.predict.loading import locate


@pytest.fixture(scope="module")
def run_dir(demo_models, tmp_path_factory):
    """A run directory as the train and export stages leave it."""
    run = tmp_path_factory.mktemp("run")
    classifier = tiny_classifier(demo_models)
    classifier.save_pretrained(run / "classifier")
    OnnxExporter().export(classifier, run / "export")
    return run


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return write_images(tmp_path_factory.mktemp("images"), count=3)


def _cli_json(capsys, *args):
    capsys.readouterr()
    assert main(["predict", *map(str, args), "--json"]) is None
    return json.loads(capsys.readouterr().out)  # the whole stdout parses: no stray progress lines


def test_torch_and_onnx_give_the_same_top_labels(run_dir, images, capsys):
    torch_out = _cli_json(capsys, run_dir, *images, "--backend", "torch", "--top-k", "3")
    onnx_out = _cli_json(capsys, run_dir, *images, "--backend", "onnx", "--top-k", "3")
    assert (torch_out["backend"], onnx_out["backend"]) == ("torch", "onnx")
    for a, b in zip(torch_out["results"], onnx_out["results"], strict=True):
        assert [x["label"] for x in a["labels"]] == [x["label"] for x in b["labels"]]
        assert len(a["labels"]) == 3
        np.testing.assert_allclose(
            [x["score"] for x in a["labels"]], [x["score"] for x in b["labels"]], atol=1e-4
        )
    by_torch = load_predictor(run_dir, "torch").predict(images)
    by_onnx = load_predictor(run_dir / "export" / "model.onnx").predict(images, batch_size=2)
    np.testing.assert_allclose(by_torch, by_onnx, atol=1e-4, rtol=1e-3)
    assert by_torch.std(axis=0).max() > 0  # different images, different scores


def test_top_k_and_threshold():
    probs = np.array([0.2, 0.9, 0.55, 0.7])
    names = ["a", "b", "c", "d"]
    assert [s.label for s in top_labels(probs, names, top_k=2)] == ["b", "d"]
    assert [s.label for s in top_labels(probs, names, top_k=0, threshold=0.5)] == ["b", "d", "c"]
    assert top_labels(probs, names, top_k=3, threshold=0.95) == []


def test_text_output_and_corrupt_image(run_dir, images, tmp_path, capsys):
    main(["predict", str(run_dir / "export" / "model.onnx"), images[0], "--top-k", "2"])
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{images[0]}: ")
    assert line.count("(") == 2
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    with pytest.raises(SystemExit):
        main(["predict", str(run_dir), images[0], str(broken), "--backend", "onnx"])
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot read image {broken}")
    assert len(err.splitlines()) == 1


def test_model_locations(run_dir, tmp_path):
    export = run_dir / "export"
    assert locate(str(run_dir)) == ("torch", str(run_dir / "classifier"))
    assert locate(str(run_dir), "onnx") == ("onnx", str(export / "model.onnx"))
    assert locate(str(export)) == ("onnx", str(export / "model.onnx"))
    assert locate(str(export / "model.onnx")) == ("onnx", str(export / "model.onnx"))
    assert locate(str(run_dir / "classifier")) == ("torch", str(run_dir / "classifier"))
    assert locate("someone/classifier") == ("torch", "someone/classifier")  # a Hub repo id
    with pytest.raises(TailorgenError, match="holds nothing the tensorrt backend can load"):
        locate(str(run_dir), "tensorrt")
    with pytest.raises(TailorgenError, match="holds nothing the torch backend can load"):
        locate(str(export), "torch")
    with pytest.raises(TailorgenError, match="not found"):
        locate(str(tmp_path / "missing"))
    with pytest.raises(TailorgenError, match="not found"):
        locate("someone/classifier", "onnx")


def test_a_dropped_execution_provider_fails_loudly(run_dir, monkeypatch):
    import onnxruntime as ort

    class FallsBackToCpu:  # what onnxruntime-gpu does on a machine whose CUDA does not load
        def __init__(self, path, options, providers):
            self.providers = providers

        def get_providers(self):
            return ["CPUExecutionProvider"]

    model = run_dir / "export" / "model.onnx"
    monkeypatch.setattr(
        ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(ort, "InferenceSession", FallsBackToCpu)
    with pytest.raises(
        TailorgenError, match="dropped CUDAExecutionProvider .* would run on CPUExecutionProvider"
    ):
        onnx_backend.create_session(model, "cuda")
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(TailorgenError, match=r"no TensorrtExecutionProvider .*onnxruntime-gpu"):
        onnx_backend.create_session(model, "tensorrt")

"""Predictors and ``tailorgen predict``: same preprocessing and outputs across backends, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from export_helpers import write_images, write_run
from tailorgen.cli import main
from tailorgen.errors import TailorgenError
from tailorgen.predict import load_predictor, onnx_backend, top_labels
from tailorgen.predict.loading import locate


@pytest.fixture(scope="module")
def run_dir(demo_models, tmp_path_factory):
    """A run directory as the train and export stages leave it."""
    return write_run(demo_models, tmp_path_factory.mktemp("run"))


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


def _cli(capsys, *args):
    """(exit status, stdout, stderr lines) of one ``tailorgen predict`` call."""
    capsys.readouterr()
    try:
        status = main(["predict", *map(str, args)]) or 0
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err.strip().splitlines()


def test_text_output(run_dir, images, capsys):
    status, out, err = _cli(capsys, run_dir / "export" / "model.onnx", images[0], "--top-k", "2")
    line = out.strip()
    assert (status, err) == (0, [])
    assert line.startswith(f"{images[0]}: ")
    assert line.count("(") == 2


def test_a_missing_image_costs_only_its_own_result(run_dir, images, tmp_path, capsys):
    missing = tmp_path / "missing.jpg"
    status, out, err = _cli(capsys, run_dir, images[0], missing, images[1], "--backend", "onnx")
    assert status == 1
    assert [line.split(": ")[0] for line in out.strip().splitlines()] == [images[0], images[1]]
    assert err == [f"error: image {missing} not found"]


def test_a_corrupt_image_costs_only_its_own_result(run_dir, images, tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    status, out, err = _cli(
        capsys, run_dir, images[0], broken, images[2], "--backend", "onnx", "--batch-size", "2", "--json"
    )
    assert status == 1
    document = json.loads(out)
    assert [r["image"] for r in document["results"]] == [images[0], images[2]]
    assert [e["image"] for e in document["errors"]] == [str(broken)]
    assert document["errors"][0]["error"].startswith(f"cannot read image {broken}")
    assert len(err) == 1
    assert err[0].startswith(f"error: cannot read image {broken}")


def test_inputs_are_checked_before_the_model_loads(images, tmp_path, capsys, monkeypatch):
    import tailorgen.predict

    loads = []
    monkeypatch.setattr(tailorgen.predict, "load_predictor", lambda *a, **k: loads.append(a))
    # nothing left to label: the model (here a Hub id, i.e. a download) is never loaded
    status, out, err = _cli(capsys, "someone/classifier", tmp_path / "a.png", tmp_path / "b.png")
    assert (status, out, loads) == (1, "", [])
    assert err == [
        f"error: image {tmp_path / 'a.png'} not found",
        f"error: image {tmp_path / 'b.png'} not found",
    ]


def test_folders_jsonl_and_batch_size(run_dir, images, tmp_path, capsys):
    folder = tmp_path / "photos"
    nested = folder / "b" / "deeper"
    nested.mkdir(parents=True)
    (folder / "a").mkdir()
    for name, source in [("a/one.PNG", images[0]), ("b/deeper/two.png", images[1]), ("zz.png", images[2])]:
        (folder / name).write_bytes(Path(source).read_bytes())
    (folder / "notes.txt").write_text("not an image")  # other extensions in a folder are skipped
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "x.png").write_bytes(Path(images[0]).read_bytes())
    (folder / "truncated.jpg").write_bytes(b"\xff\xd8\xff")
    empty = tmp_path / "empty"
    empty.mkdir()
    runs = {}
    for batch_size in (1, 3):
        status, out, err = _cli(
            capsys, run_dir, folder, empty, "--backend", "onnx", "--jsonl", "--batch-size", batch_size
        )
        assert status == 1
        runs[batch_size] = [json.loads(line) for line in out.strip().splitlines()]
        assert len(err) == 2
        assert err[0].startswith(f"error: folder {empty} holds no images")
        assert err[1].startswith(f"error: cannot read image {folder / 'truncated.jpg'}")
    lines = runs[1]
    assert [line["image"] for line in lines] == [
        str(empty),
        str(folder / "a" / "one.PNG"),
        str(folder / "b" / "deeper" / "two.png"),
        str(folder / "truncated.jpg"),
        str(folder / "zz.png"),
    ]
    assert [sorted(line) for line in lines] == [
        ["error", "image"],
        *[["image", "labels"]] * 2,
        ["error", "image"],
        ["image", "labels"],
    ]
    for a, b in zip(runs[1], runs[3], strict=True):  # batching changes nothing but speed
        assert a["image"] == b["image"]
        if "labels" in a:
            assert [x["label"] for x in a["labels"]] == [x["label"] for x in b["labels"]]
            np.testing.assert_allclose(
                [x["score"] for x in a["labels"]], [x["score"] for x in b["labels"]], atol=1e-5
            )
    status, out, err = _cli(capsys, run_dir, folder, "--json", "--jsonl")
    assert status == 2
    assert "--json and --jsonl are alternatives: pick one" in err[-1]


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
    with pytest.raises(TailorgenError, match="neither a local folder nor a Hub repo id"):
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

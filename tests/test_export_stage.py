"""The export stage: what ``[[exporters]]`` asks for lands validated in ``export/``; plan loads nothing."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from export_helpers import tiny_classifier
from tailorgen.classifier import Classifier
from tailorgen.config import PluginSpec, load_config
from tailorgen.context import RunContext
from tailorgen.errors import ConfigError, TailorgenError
from tailorgen.exporters.metadata import read_onnx_metadata
from tailorgen.pipeline import plan_pipeline, run_pipeline


@pytest.fixture
def config(demo_models, monkeypatch):
    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(demo_models["coco"].parent))
    with resources.as_file(resources.files("tailorgen.examples").joinpath("tiny.toml")) as path:
        return load_config(path)


def _trained_run(config, demo_models, run_dir):
    names = RunContext(config, run_dir).labels.names
    tiny_classifier(demo_models, names=names).save_pretrained(run_dir / "classifier")
    return names


def test_plan_lists_exporters_without_loading_a_model(config, tmp_path, monkeypatch):
    monkeypatch.setattr(Classifier, "from_pretrained", lambda *a, **k: pytest.fail("plan loaded a model"))
    stage = plan_pipeline(config, ["export"], tmp_path)["stages"]["export"]
    assert stage["exporters"][0]["plugin"] == "onnx"
    assert stage["exporters"][0]["options"]["file_name"] == "model.onnx"
    assert stage["out_dir"] == str(tmp_path / "export")
    assert stage["validation_batch_size"] == 3


def test_stage_writes_a_validated_model_deterministically(config, demo_models, tmp_path):
    runs = [tmp_path / "a", tmp_path / "b"]
    for run in runs:
        names = _trained_run(config, demo_models, run)
        summary = run_pipeline(config, ["export"], run)["export"]
        (artefact,) = summary["artefacts"]
        assert artefact["plugin"] == "onnx"
        assert artefact["path"] == "model.onnx"
        assert artefact["validation"][0]["passed"]
        assert artefact["validation"][0]["batch_size"] == 3
    model = runs[0] / "export" / "model.onnx"
    assert read_onnx_metadata(model).label_names == names
    assert json.loads((runs[0] / "export" / "validation.json").read_text()) == summary
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    assert "export" in json.dumps(manifest)
    assert model.read_bytes() == (runs[1] / "export" / "model.onnx").read_bytes()  # same config, same bytes


def test_missing_classifier_and_bad_exporter_options_are_clear(config, tmp_path):
    with pytest.raises(
        TailorgenError, match="export needs a trained classifier in .*run the train stage first"
    ):
        run_pipeline(config, ["export"], tmp_path)
    config.exporters = [PluginSpec(plugin="onnx", options={"fp61": True})]
    with pytest.raises(ConfigError, match=r"exporters\[0\].*fp61.*allowed options: file_name"):
        run_pipeline(config, ["export"], tmp_path)


@pytest.mark.slow
def test_demo_through_export_writes_a_model_both_backends_agree_on(
    demo_models, tmp_path, monkeypatch, capsys
):
    from click.testing import CliRunner
    from tailorgen.cli import cli, main

    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(demo_models["coco"].parent))
    run = tmp_path / "run"
    stages = [
        "demo",
        "--out",
        str(run),
        "--stages",
        "prompts,generate,train,export",
        "--set",
        "train.epochs=1",
    ]
    result = CliRunner().invoke(cli, stages)
    assert result.exit_code == 0, result.output
    (artefact,) = json.loads((run / "export" / "validation.json").read_text())["artefacts"]
    assert artefact["validation"][0]["passed"]
    images = sorted(str(p) for p in (run / "synthetic" / "images").glob("*.png"))[:3]
    outputs = {}
    for backend in ("torch", "onnx"):
        capsys.readouterr()
        main(["predict", str(run), *images, "--backend", backend, "--top-k", "3", "--json"])
        outputs[backend] = json.loads(capsys.readouterr().out)["results"]
    for a, b in zip(outputs["torch"], outputs["onnx"], strict=True):
        assert [x["label"] for x in a["labels"]] == [x["label"] for x in b["labels"]]


def _synthetic_images(run, count):
    """``count`` images as the generate stage leaves them (static int8 calibrates on them)."""
    from export_helpers import write_images

    pictures = write_images(run / "synthetic" / "images", count=count)
    rows = [{"file_name": f"images/{p.rsplit('/', 1)[1]}", "labels": ["cat"]} for p in pictures]
    (run / "synthetic" / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_stage_reports_map_per_variant_and_calibrates_static_int8(config, demo_models, tmp_path):
    """[evaluate] dataset/split is the accuracy judge; this run's synthetic images calibrate int8."""
    run = tmp_path / "run"
    _trained_run(config, demo_models, run)
    _synthetic_images(run, count=6)
    config = config.model_copy(
        update={
            "exporters": [PluginSpec(plugin="onnx", options={"int8": True, "int8_static": True})],
            "export": {"map_budget": 100.0, "calibration_images": 6},
        }
    )
    summary = run_pipeline(config, ["export"], run)["export"]
    reports = {r["artefact"]: r for r in summary["artefacts"][0]["validation"]}
    assert set(reports) == {"model.onnx", "model.int8.onnx", "model.int8-static.onnx"}
    for report in reports.values():
        assert 0 <= report["map"] <= 100
        assert report["map_loss"] == pytest.approx(report["reference_map"] - report["map"])
    assert json.loads((run / "export" / "validation.json").read_text()) == summary


def test_the_documented_two_exporter_config_keeps_every_variant(config, demo_models, tmp_path, monkeypatch):
    """docs/deployment.md's onnx + tensorrt config, every option on: the TensorRT exporter builds from
    the onnx exporter's fp16 file and removes nothing; validation.json lists exactly what is on disk."""
    import tomllib
    from pathlib import Path

    from fake_tensorrt import install

    trt = install(monkeypatch)
    docs = (Path(__file__).parents[1] / "docs" / "deployment.md").read_text()
    documented = tomllib.loads(docs.split("```toml\n", 1)[1].split("```", 1)[0])
    (onnx, tensorrt) = documented["exporters"]
    assert (onnx["plugin"], tensorrt["plugin"]) == ("onnx", "tensorrt")
    onnx["options"].update(fp16=True, optimize=True, int8=True, int8_static=True, pixels=True)
    tensorrt["options"].update(opt_batch=4, max_batch=8)  # the fake runs batches on the CPU
    documented["export"].update(map_budget=100.0)  # the tiny model's fp16 loses ~20 mAP: keep all
    run = tmp_path / "run"
    _trained_run(config, demo_models, run)
    _synthetic_images(run, count=documented["export"]["calibration_images"] // 8)
    config = config.model_copy(
        update={
            "exporters": [PluginSpec(**spec) for spec in (onnx, tensorrt)],
            "export": documented["export"],
        }
    )
    summary = run_pipeline(config, ["export"], run)["export"]
    export = run / "export"
    engine = "model.fp16.nvidia-h200.trt11.4.0.106.engine"
    variants = ["model.onnx", "model.fp16.onnx", "model.optimized.onnx", "model.int8.onnx"]
    variants += ["model.int8-static.onnx", "model.pixels.onnx"]
    assert sorted(p.name for p in export.iterdir()) == sorted(
        [*variants, engine, f"{engine}.json", "timing.nvidia-h200.trt11.4.0.106.cache", "validation.json"]
    )
    assert json.loads((export / "validation.json").read_text()) == summary
    onnx_reports, trt_reports = (a["validation"] for a in summary["artefacts"])
    assert [r["artefact"] for r in onnx_reports] == variants
    assert [r["artefact"] for r in trt_reports] == ["model.onnx", "model.fp16.onnx", engine]
    for report in onnx_reports + trt_reports:
        assert report["passed"]
        assert report["refused"] is None
        assert report["map"] is not None
        assert (export / report["artefact"]).is_file()
    assert [c for c in trt.calls if c[0] == "parse"] == [("parse", str(export / "model.fp16.onnx"))]
    assert trt_reports[-1]["reference"] == "onnxruntime"

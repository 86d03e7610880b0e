"""The ``triton`` exporter: a model repository whose config.pbtxt parses with Triton's own schema."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from export_helpers import tiny_classifier
from tailorgen.exporters.triton import TritonExporter, TritonOptions, write_model
from tailorgen.predict import load_predictor

model_config_pb2 = pytest.importorskip(
    "tritonclient.grpc.model_config_pb2", reason="needs tritonclient (pip install 'tailorgen[triton]')"
)


def _parse(path: Path):
    from google.protobuf import text_format

    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def _dims(value) -> list[int]:
    return [d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim]


@pytest.fixture(scope="module")
def exported(demo_models, tmp_path_factory):
    classifier = tiny_classifier(demo_models)
    out = tmp_path_factory.mktemp("export")
    options = TritonOptions(model_name="shapes", max_batch=16, opt_batch=4, max_queue_delay_us=500)
    config = TritonExporter(options).export(classifier, out)
    assert config == out / "model_repository" / "shapes" / "config.pbtxt"
    return classifier, out, config.parent.parent


def test_the_repository_layout(exported):
    classifier, out, repository = exported
    assert repository == out / "model_repository"
    folder = repository / "shapes"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "1", "1/model.onnx", "config.pbtxt", "labels.txt"
    ]  # fmt: skip
    assert (folder / "labels.txt").read_text().splitlines() == list(classifier.label_names)
    # the repository's model is the validated export, and answers as it does
    assert (folder / "1" / "model.onnx").read_bytes() == (out / "model.onnx").read_bytes()
    pixels = np.random.default_rng(0).random((2, 3, classifier.image_size, classifier.image_size), np.float32)
    np.testing.assert_array_equal(
        load_predictor(folder / "1" / "model.onnx").probabilities(pixels),
        load_predictor(out / "model.onnx").probabilities(pixels),
    )


def test_config_parses_with_tritons_schema_and_matches_the_onnx_graph(exported):
    classifier, _, repository = exported
    config = _parse(repository / "shapes" / "config.pbtxt")
    graph = onnx.load(str(repository / "shapes" / "1" / "model.onnx")).graph
    assert config.name == "shapes"
    assert config.platform == "onnxruntime_onnx"
    assert config.max_batch_size == 16
    assert [i.name for i in config.input] == [v.name for v in graph.input]
    assert [o.name for o in config.output] == [v.name for v in graph.output]
    for entry, value in zip([*config.input, *config.output], [*graph.input, *graph.output], strict=True):
        assert _dims(value)[0] == -1  # the graph's batch axis is dynamic (a named dim)
        assert list(entry.dims) == _dims(value)[1:]  # Triton's dims leave the batch axis out
        assert entry.data_type == model_config_pb2.TYPE_FP32
    assert list(config.input[0].dims) == [3, classifier.image_size, classifier.image_size]
    assert list(config.output[0].dims) == [len(classifier.label_names)]
    assert config.output[0].label_filename == "labels.txt"
    assert list(config.dynamic_batching.preferred_batch_size) == [4, 16]
    assert config.dynamic_batching.max_queue_delay_microseconds == 500
    assert config.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_CPU


def test_an_engine_becomes_a_tensorrt_plan_model(exported, tmp_path):
    """The plan model (what tensorrt = true adds) without a GPU: a stand-in engine file."""
    _, out, _ = exported
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"serialized engine")
    options = TritonOptions(min_batch=2, opt_batch=8, max_batch=32)
    folder = write_model(
        tmp_path / "repo", "m_tensorrt", out / "model.onnx", ["a", "b"], options=options, engine=engine
    )
    assert (folder / "1" / "model.plan").read_bytes() == b"serialized engine"
    config = _parse(folder / "config.pbtxt")
    assert config.platform == "tensorrt_plan"
    assert config.max_batch_size == 32  # the engine profile's largest batch
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 32]
    assert config.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_GPU


def test_options_are_checked():
    with pytest.raises(ValueError, match="min_batch <= opt_batch <= max_batch"):
        TritonOptions(min_batch=8, opt_batch=4)
    with pytest.raises(ValueError, match="pattern"):
        TritonOptions(model_name="my model")

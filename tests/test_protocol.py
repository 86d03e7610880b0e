"""ZSL / GZSL label and image selection from label sets (presets and hand-made)."""

from __future__ import annotations

import numpy as np
import pytest
from tailorgen.data.labels import load_label_set
from tailorgen.errors import TailorgenError
from tailorgen.evaluation.metrics import ranking_metrics
from tailorgen.evaluation.protocol import evaluate_settings, setting_columns, setting_rows


@pytest.mark.parametrize(
    ("preset", "zsl", "gzsl", "total"),
    [("coco-48-17", 17, 65, 80), ("nus-wide-925-81", 81, 1006, 1006)],
)
def test_presets_give_the_protocol_label_sets(preset: str, zsl: int, gzsl: int, total: int) -> None:
    labels = load_label_set(preset)
    z, g = setting_columns(labels, "zsl"), setting_columns(labels, "gzsl")
    assert (len(z), len(g), len(labels.names)) == (zsl, gzsl, total)
    assert [labels.names[i] for i in z] == labels.unseen
    assert set(z) < set(g)
    assert all(labels.label(labels.names[i]).split != "unused" for i in g)
    assert np.all(np.diff(g) > 0)  # label-set order


def test_coco_split_contents() -> None:
    labels = load_label_set("coco-48-17")
    zsl = {labels.names[i] for i in setting_columns(labels, "zsl")}
    assert {"airplane", "bus", "cat", "dog", "cow", "elephant", "umbrella"} <= zsl
    assert "person" not in zsl
    gzsl = {labels.names[i] for i in setting_columns(labels, "gzsl")}
    assert "person" in gzsl
    assert "traffic light" not in gzsl  # one of the 15 unused categories


def test_columns_follow_given_label_names_and_missing_is_an_error() -> None:
    labels = load_label_set(
        {"labels": [{"name": "a", "split": "seen"}, "b", {"name": "c", "split": "unused"}, "d"]}
    )
    assert setting_columns(labels, "zsl", ["d", "c", "b", "a"]).tolist() == [2, 0]
    assert setting_columns(labels, "gzsl", ["d", "c", "b", "a"]).tolist() == [3, 2, 0]
    with pytest.raises(TailorgenError, match="ZSL needs labels the scores do not have: d"):
        setting_columns(labels, "zsl", ["a", "b"])
    with pytest.raises(TailorgenError, match="unknown setting"):
        setting_columns(labels, "fsl")  # type: ignore[arg-type]


def test_images_and_labels_of_each_setting() -> None:
    labels = load_label_set(
        {"labels": [{"name": "s", "split": "seen"}, "u1", "u2", {"name": "x", "split": "unused"}]}
    )
    targets = np.array(
        [
            [1, 0, 0, 0],  # seen only: GZSL image, not ZSL
            [0, 1, 0, 0],  # unseen: both
            [0, 0, 0, 1],  # unused label only: neither
            [0, 0, 0, 0],  # no label: neither
            [1, 0, 1, 0],  # both
        ],
        dtype=bool,
    )
    assert setting_rows(targets, setting_columns(labels, "zsl")).tolist() == [1, 4]
    assert setting_rows(targets, setting_columns(labels, "gzsl")).tolist() == [0, 1, 4]
    rng = np.random.default_rng(0)
    scores = rng.random(targets.shape)
    out = evaluate_settings(scores, targets, labels, ks=(1,))
    assert out["zsl"] == ranking_metrics(scores[[1, 4]][:, [1, 2]], targets[[1, 4]][:, [1, 2]], (1,))
    assert out["gzsl"] == ranking_metrics(
        scores[[0, 1, 4]][:, [0, 1, 2]], targets[[0, 1, 4]][:, [0, 1, 2]], (1,)
    )
    assert (out["zsl"]["images"], out["zsl"]["labels"], out["gzsl"]["images"], out["gzsl"]["labels"]) == (
        2,
        2,
        3,
        3,
    )
    with pytest.raises(TailorgenError, match="3 label names"):
        evaluate_settings(scores, targets, labels, label_names=["s", "u1", "u2"])

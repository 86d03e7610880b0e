"""Zero-shot-honest model selection, the real-only mode and the scales derived from the backbone."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import test_train_stage
import torch
from tailorgen.classifier import Classifier
from tailorgen.classifier.scales import resolve_scales
from tailorgen.classifier.selection import hold_out
from tailorgen.data.labeled_images import LabeledImages
from tailorgen.errors import ConfigError
from tailorgen.io import read_jsonl
from test_train_stage import _synthetic, _train

demo_env = test_train_stage.demo_env  # the fixture: tiny COCO's label set, demo models in the env


def test_a_real_clip_scale_gives_exactly_the_papers_20_and_5():
    learned = float(torch.tensor(math.log(100.0), dtype=torch.float32).exp())  # 100.0000076
    assert resolve_scales("auto", "auto", learned) == (20.0, 5.0)
    assert resolve_scales(20.0, "auto", learned) == (20.0, 5.0)
    assert resolve_scales("auto", 5.0, learned) == (20.0, 5.0)
    assert resolve_scales("auto", "auto", 35.0) == (7.0, 5.0)  # the product is the learned scale
    assert resolve_scales(20.0, "auto", 35.0) == (20.0, 1.75)
    assert resolve_scales(3.0, 0.5, 35.0) == (3.0, 0.5)  # numbers are kept


def _clip_with_scale(source: Path, target: Path, learned: float) -> Path:
    from safetensors.torch import load_file, save_file

    shutil.copytree(source, target)
    weights = load_file(str(target / "open_clip_model.safetensors"))
    weights["logit_scale"] = torch.tensor(math.log(learned), dtype=torch.float32)
    save_file(weights, str(target / "open_clip_model.safetensors"))
    return target


def test_auto_scales_follow_the_backbones_learned_logit_scale(demo_models, tmp_path):
    for learned, expected in ((100.0, (20.0, 5.0)), (35.0, (7.0, 5.0))):
        clip = _clip_with_scale(Path(demo_models["clip-rn"]), tmp_path / str(learned), learned)
        model = Classifier.build(
            f"local-dir:{clip}", ["cat", "dog"], n_ctx=2, logit_scale="auto", aggregation_scale="auto"
        )
        assert (model.logit_scale, model.aggregation_scale) == pytest.approx(expected, abs=1e-12)
        saved = tmp_path / f"saved-{learned}"
        model.save_pretrained(saved)  # the resolved numbers, not "auto", are what a loaded model uses
        assert json.loads((saved / "config.json").read_text())["aggregation_scale"] == expected[1]


def test_train_stage_accepts_auto_and_refuses_other_words(demo_env, tmp_path):
    _synthetic(tmp_path, demo_env)
    _train(tmp_path, 'train.logit_scale="auto"', 'train.aggregation_scale="auto"', "train.epochs=1")
    model = Classifier.from_pretrained(tmp_path / "classifier")
    learned = float(model.clip.logit_scale.exp())
    assert model.logit_scale * model.aggregation_scale == pytest.approx(round(learned, 2))
    with pytest.raises(ConfigError, match="aggregation_scale"):
        _train(tmp_path / "other", 'train.aggregation_scale="model"')


def test_hold_out_is_seeded_disjoint_and_complete(tmp_path):
    paths = [tmp_path / f"{i}.png" for i in range(10)]
    data = LabeledImages(paths, torch.eye(10)[:, :2], ["a", "b"])
    kept, held = hold_out(data, 0.3, seed=7)
    again_kept, again_held = hold_out(data, 0.3, seed=7)
    assert (len(kept), len(held)) == (7, 3)
    assert sorted(kept.paths + held.paths) == sorted(paths)
    assert held.paths == again_held.paths
    assert kept.paths == again_kept.paths
    assert len({tuple(hold_out(data, 0.3, seed=s)[1].paths) for s in range(5)}) > 1  # the seed matters
    for part in (kept, held):  # targets follow their images
        assert all(
            torch.equal(part.targets[i], data.targets[paths.index(p)]) for i, p in enumerate(part.paths)
        )


def _without_unseen_val_annotations(coco: Path, target: Path, unseen: set[str]) -> Path:
    """A copy of the tiny COCO whose val split has lost every unseen-label annotation."""
    shutil.copytree(coco, target)
    path = target / "annotations" / "instances_val.json"
    data = json.loads(path.read_text())
    ids = {c["id"] for c in data["categories"] if c["name"] in unseen}
    assert any(a["category_id"] in ids for a in data["annotations"])
    data["annotations"] = [a for a in data["annotations"] if a["category_id"] not in ids]
    path.write_text(json.dumps(data))
    return target


def test_zero_shot_selection_reads_no_unseen_label_of_a_real_image(demo_models, demo_env, tmp_path):
    unseen = {label["name"] for label in demo_env["labels"] if label["split"] == "unseen"}
    stripped = _without_unseen_val_annotations(Path(demo_models["coco"]), tmp_path / "coco", unseen)
    val_maps = {}
    for selection in ("zero-shot", "val"):
        for name, root in (("original", Path(demo_models["coco"])), ("stripped", stripped)):
            run = tmp_path / f"{selection}-{name}"
            _synthetic(run, demo_env, count=10)
            summary = _train(run, f'train.selection="{selection}"', f'datasets.coco.options.root="{root}"')
            val_maps[selection, name] = [e["val_map"] for e in read_jsonl(run / "train" / "log.jsonl")]
            if selection == "zero-shot":  # 2 of the 10 synthetic images select, the other 8 train
                assert summary["images"]["synthetic"] == 8
                assert summary["images"]["synthetic held out"] == 2
    assert None not in val_maps["zero-shot", "original"]
    assert val_maps["zero-shot", "original"] == val_maps["zero-shot", "stripped"]
    # the default selection does read them (so the comparison above can fail)
    assert val_maps["val", "original"] != val_maps["val", "stripped"]


def test_real_mode_trains_on_real_seen_label_images_without_synthetic_data(demo_env, tmp_path):
    summary = _train(tmp_path, 'train.mode="real"', 'train.selection="zero-shot"', "train.epochs=1")
    assert set(summary["images"]) == {"real"}
    assert not (tmp_path / "synthetic").exists()
    log = read_jsonl(tmp_path / "train" / "log.jsonl")
    assert [set(entry["loss"]) for entry in log] == [{"real"}]
    assert log[0]["val_map"] is not None  # seen labels on the val split


def test_zero_shot_selection_refuses_val_labels(demo_env, tmp_path):
    _synthetic(tmp_path, demo_env)
    with pytest.raises(ConfigError, match="val_labels does not apply"):
        _train(tmp_path, 'train.selection="zero-shot"', 'train.val_labels="unseen"')

"""The things world: 48 drawable things with attributes, varied captions, folds, CLIP pretraining."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from tailorgen.testing.things import PATTERNS, THINGS, Item, Scene, render, sample_scene
from tailorgen.testing.things_captions import caption, long_caption, plural
from tailorgen.testing.things_coco import THINGS_FOLDS, build_things_coco

PRETRAIN = Path(__file__).resolve().parents[1] / "benchmarks" / "things" / "pretrain.py"


def _single(thing: str, pattern: str = "solid") -> Scene:
    item = Item(thing, "red", "big", pattern, ((32.0, 32.0, 16.0, 0.0),))
    return Scene("pretrain", 64, (item,), ("plain", (230, 230, 230), None, 0.0), 0.0, 0)


def _coverage(thing: str, pattern: str = "solid") -> np.ndarray:
    pixels = np.asarray(render(_single(thing, pattern)), dtype=np.float32)
    return np.abs(pixels - 230).sum(-1) > 200


def test_forty_eight_distinct_visible_things() -> None:
    assert len(THINGS) == len(set(THINGS)) == 48
    masks = {thing: _coverage(thing) for thing in THINGS}
    for thing, mask in masks.items():
        assert mask.sum() > 40, thing
        assert not mask[:8].any(), thing  # drawn where it was placed
        assert not mask[:, :8].any(), thing
    for i, a in enumerate(THINGS):
        for b in THINGS[i + 1 :]:
            iou = (masks[a] & masks[b]).sum() / (masks[a] | masks[b]).sum()
            assert iou < 0.9, (a, b, iou)


def test_patterns_change_the_pixels_inside_the_outline() -> None:
    solid = _coverage("square")
    for pattern in PATTERNS[1:]:
        mask = _coverage("square", pattern)
        assert 0.1 * solid.sum() < mask.sum() < 0.8 * solid.sum(), pattern
        assert not (mask & ~solid).any(), pattern


def test_renderer_and_captions_are_seeded() -> None:
    def draw(seed: int) -> tuple[list[bytes], list[str]]:
        rng = random.Random(seed)
        scenes = [sample_scene(rng, domain) for domain in ("pretrain", "target") * 4]
        return [render(s).tobytes() for s in scenes], [caption(rng, s) + long_caption(rng, s) for s in scenes]

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)


def test_captions_name_every_thing_and_nothing_else() -> None:
    from open_clip import tokenize

    rng = random.Random(0)
    nouns = {name: {name, plural(name)} for name in THINGS}
    starts, long_lengths, counts = set(), [], set()
    for _ in range(300):
        scene = sample_scene(rng, "pretrain")
        counts.update(len(item.copies) for item in scene.items)
        for text in (caption(rng, scene), long_caption(rng, scene)):
            words = set(text.replace(",", " ").replace(".", " ").split())
            named = {name for name, forms in nouns.items() if forms & words}
            assert named == set(scene.things), text
        starts.add(" ".join(caption(rng, scene).split()[:2]))
        long_lengths.append(int((tokenize([long_caption(rng, scene)], context_length=200) != 0).sum()))
    assert counts == {1, 2, 3}
    assert len(starts) > 50  # varied openings and word orders, not one pattern
    assert max(long_lengths) <= 77
    assert np.mean(long_lengths) > 32
    assert plural("leaf") == "leaves"
    assert plural("cherry") == "cherries"
    assert plural("cross") == "crosses"


def test_target_domain_is_smaller_and_noisier() -> None:
    rng = random.Random(1)
    pretrain = [sample_scene(rng, "pretrain") for _ in range(40)]
    target = [sample_scene(rng, "target") for _ in range(40)]

    def radius(scenes: list[Scene]) -> float:
        return float(np.mean([c[2] for s in scenes for item in s.items for c in item.copies]))

    assert radius(target) < radius(pretrain)
    assert all(s.noise == 10.0 for s in target)
    with pytest.raises(ValueError, match="distinct"):
        sample_scene(rng, things=["star", "star"])
    with pytest.raises(ValueError, match="distinct"):
        sample_scene(rng, things=["unicorn"])


def test_folds_cover_every_label_once_and_train_holds_seen_labels_only(tmp_path: Path) -> None:
    assert [len(f) for f in THINGS_FOLDS] == [12] * 4
    assert sorted(t for f in THINGS_FOLDS for t in f) == sorted(THINGS)  # each unseen in exactly one fold
    root = build_things_coco(tmp_path, seed=0, splits={"train": 60, "val": 20, "test": 60}, fold=2)
    labels = json.loads((root / "labels.json").read_text())["labels"]
    assert {lab["name"] for lab in labels if lab["split"] == "unseen"} == set(THINGS_FOLDS[2])
    names = {i + 1: t for i, t in enumerate(THINGS)}
    found = {}
    for split in ("train", "test"):
        data = json.loads((root / "annotations" / f"instances_{split}.json").read_text())
        found[split] = {names[a["category_id"]] for a in data["annotations"]}
    assert not found["train"] & set(THINGS_FOLDS[2])
    assert found["test"] == set(THINGS)  # every label appears in the evaluation split
    with pytest.raises(ValueError, match="fold must be 0-3"):
        build_things_coco(tmp_path / "bad", fold=4)


@pytest.fixture(scope="module")
def pretrain():
    spec = importlib.util.spec_from_file_location("things_pretrain", PRETRAIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prefix_text_encoding_equals_the_full_context(pretrain) -> None:
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.CLIP(**pretrain.CLIP_CFG).eval()
    tokens = open_clip.tokenize(["a red star next to two houses.", "there is a fish"], context_length=77)
    with torch.no_grad():
        torch.testing.assert_close(pretrain.encode_text_prefix(model, tokens), model.encode_text(tokens))


def test_pretraining_smoke_writes_a_loadable_clip_and_resumes(pretrain, tmp_path, monkeypatch) -> None:
    import open_clip

    argv = ["pretrain.py", "--smoke", "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")]
    monkeypatch.setattr(sys, "argv", argv)
    pretrain.main()
    assert json.loads((tmp_path / "work" / "clip" / "checkpoint.json").read_text()) == {"step": 2}
    model, _, _ = open_clip.create_model_and_transforms(f"local-dir:{tmp_path / 'out' / 'clip'}")
    assert model.context_length == 77
    assert model.visual.image_size == 64
    first = (tmp_path / "out" / "clip" / "open_clip_model.safetensors").read_bytes()
    pretrain.main()  # resumes at the last step: nothing left to train, the same weights
    assert (tmp_path / "out" / "clip" / "open_clip_model.safetensors").read_bytes() == first

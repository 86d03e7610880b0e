"""The shapes world: seeded renderer, captions, target COCO data set (benchmarks/shapes)."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pytest
from tailorgen.registry import create_dataset
from tailorgen.testing.shapes import COLOURS, SHAPES, Object, Scene, caption, render, sample_scene
from tailorgen.testing.shapes_coco import UNSEEN_SHAPES, build_shapes_coco


def _single(shape: str, colour: str = "red", background: int = 230) -> Scene:
    obj = Object(shape, colour, 32.0, 32.0, 14.0, 0.0)
    return Scene("pretrain", 64, (obj,), ("plain", (background,) * 3, None, 0.0), 0)


def _coverage(shape: str) -> np.ndarray:
    pixels = np.asarray(render(_single(shape)), dtype=np.float32)
    return np.abs(pixels - 230).sum(-1) > 200  # pixels where the red object covers the background


def test_twelve_distinct_shapes() -> None:
    assert len(SHAPES) >= 12
    masks = {shape: _coverage(shape) for shape in SHAPES}
    for shape, mask in masks.items():
        assert mask.sum() > 60, shape  # visible
        assert not mask[:4].any(), shape
        assert not mask[:, :4].any(), shape  # drawn where it was placed
    for i, a in enumerate(SHAPES):
        for b in SHAPES[i + 1 :]:
            iou = (masks[a] & masks[b]).sum() / (masks[a] | masks[b]).sum()
            assert iou < 0.9, (a, b, iou)


def test_renderer_is_seeded() -> None:
    def draw(seed: int) -> tuple[list[bytes], list[str]]:
        rng = random.Random(seed)
        scenes = [sample_scene(rng, domain) for domain in ("pretrain", "target") * 4]
        return [render(s).tobytes() for s in scenes], [caption(rng, s) for s in scenes]

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)


def test_scene_labels_and_caption_match() -> None:
    rng = random.Random(0)
    counts = set()
    for i in range(200):
        scene = sample_scene(rng, "pretrain")
        shapes = scene.shapes
        counts.add(len(shapes))
        assert len(set(shapes)) == len(shapes)
        assert set(shapes) <= set(SHAPES)
        text = caption(rng, scene, web_words=i % 2 == 1)
        words = text.replace(",", " ").split()
        assert all(shape in words for shape in shapes), text
        assert not set(words) & (set(SHAPES) - set(shapes)), text
        for obj in scene.objects:  # inside the image
            assert obj.radius <= obj.x <= 64 - obj.radius
            assert obj.radius <= obj.y <= 64 - obj.radius
    assert counts == {1, 2, 3}
    with pytest.raises(ValueError, match="distinct"):
        sample_scene(rng, shapes=["star", "star"])


def test_domains_differ_in_style() -> None:
    rng = random.Random(1)
    pretrain = [sample_scene(rng, "pretrain") for _ in range(30)]
    target = [sample_scene(rng, "target") for _ in range(30)]
    assert np.mean([o.radius for s in target for o in s.objects]) < np.mean(
        [o.radius for s in pretrain for o in s.objects]
    )

    def spread(scene: Scene) -> float:  # largest per-channel pixel spread of the empty background
        pixels = np.asarray(render(dataclasses.replace(scene, objects=())), dtype=np.float32)
        return float(pixels.std(axis=(0, 1)).max())

    assert max(spread(s) for s in pretrain) == 0.0  # plain backgrounds
    assert min(spread(s) for s in target) > 8.0  # noisy, textured backgrounds
    assert {c for s in pretrain for c in (o.colour for o in s.objects)} <= set(COLOURS)


def test_shapes_coco_is_read_by_the_coco_plugin(tmp_path: Path) -> None:
    splits = {"train": 30, "val": 16, "test": 24}
    root = build_shapes_coco(tmp_path / "a", seed=0, splits=splits)
    again = build_shapes_coco(tmp_path / "b", seed=0, splits=splits)
    for path in sorted(root.rglob("*.*")):
        assert path.read_bytes() == (again / path.relative_to(root)).read_bytes(), path
    labels = json.loads((root / "labels.json").read_text())["labels"]
    unseen = [label["name"] for label in labels if label["split"] == "unseen"]
    assert sorted(unseen) == sorted(UNSEEN_SHAPES)
    assert len(labels) == len(SHAPES)
    dataset = create_dataset("coco", root=str(root))
    train = dataset.load("train", list(SHAPES))
    assert len(train) == 30
    unseen_columns = [SHAPES.index(s) for s in UNSEEN_SHAPES]
    assert train.targets[:, unseen_columns].sum() == 0  # unseen labels never annotated in train
    assert (train.targets.sum(1) >= 1).all()
    test = dataset.load("test", list(SHAPES))
    assert (test.targets.sum(0) >= 1).all()  # every label, unseen ones included, occurs in test
    assert set(test.targets.sum(1).tolist()) <= {1.0, 2.0, 3.0}
    image, target = test[0]
    assert image.size == (64, 64)
    assert target.shape == (len(SHAPES),)

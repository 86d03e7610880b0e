"""The tiny offline models load through the same paths as real ones and run a forward pass."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from tailorgen.testing import demo as demo_module
from tailorgen.testing.tiny_models import (
    build_causal_lm,
    build_clip_tokenizer,
    build_open_clip,
    build_tiny_coco,
)


def _digest(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_clip_tokenizer_matches_open_clip(demo_models: dict[str, Path]) -> None:
    import open_clip
    from transformers import CLIPTokenizer

    reference = open_clip.tokenizer.SimpleTokenizer()
    saved = CLIPTokenizer.from_pretrained(demo_models["sd"] / "tokenizer")
    built = build_clip_tokenizer()
    assert len(saved) == len(built) == 49408
    for text in ["a photo of a cat next to a dog.", "An ELEPHANT, walking!! 123 naïve café", "traffic-light"]:
        expected = reference([text])[0]
        expected = expected[expected != 0].tolist()
        assert saved(text)["input_ids"] == expected
        assert built(text)["input_ids"] == expected


def test_sd_pipeline_loads_and_generates_deterministically(demo_models: dict[str, Path]) -> None:
    import numpy as np
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(demo_models["sd"])
    pipe.set_progress_bar_config(disable=True)
    assert isinstance(pipe.scheduler, EulerDiscreteScheduler)
    assert pipe.text_encoder.config.vocab_size == 49408

    def sample(seed: int) -> np.ndarray:
        out = pipe(
            ["a cat next to a dog"],
            negative_prompt=["text"],
            num_inference_steps=2,
            generator=torch.Generator().manual_seed(seed),
        )
        return np.asarray(out.images[0])

    first, again, other = sample(1), sample(1), sample(2)
    assert first.shape == (64, 64, 3)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize(("key", "tower"), [("clip-vit", "VisionTransformer"), ("clip-rn", "ModifiedResNet")])
def test_open_clip_loads_from_local_dir(demo_models: dict[str, Path], key: str, tower: str) -> None:
    import open_clip
    import torch
    from PIL import Image

    name = f"local-dir:{demo_models[key]}"
    model, _, preprocess = open_clip.create_model_and_transforms(name)
    tokenizer = open_clip.get_tokenizer(name)
    model.eval()
    assert type(model.visual).__name__ == tower
    images = torch.stack([preprocess(Image.new("RGB", (80, 60), c)) for c in ["red", "blue"]])
    assert images.shape == (2, 3, 64, 64)
    with torch.no_grad():
        image_features = model.encode_image(images)
        text_features = model.encode_text(tokenizer(["a cat", "a dog", "a cow"]))
    assert image_features.shape == (2, 32)
    assert text_features.shape == (3, 32)
    assert torch.isfinite(image_features).all()
    assert not torch.allclose(image_features[0], image_features[1])


def test_rn_clip_is_rn50_shaped(demo_models: dict[str, Path]) -> None:
    import open_clip

    visual = open_clip.create_model(f"local-dir:{demo_models['clip-rn']}").visual
    assert [len(getattr(visual, f"layer{i}")) for i in range(1, 5)] == [1, 1, 1, 1]
    assert visual.attnpool.num_heads >= 1
    bottleneck = visual.layer1[0]
    assert bottleneck.conv2.kernel_size == (3, 3)  # the 3x3 convolutions the fusion head wraps


def test_causal_lm_chat_template_and_generation(demo_models: dict[str, Path]) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(demo_models["lm"])
    tokenizer = AutoTokenizer.from_pretrained(demo_models["lm"])
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "A cat next to a dog."},
    ]
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text.endswith("<|assistant|>\n")
    assert "<|user|>\nA cat next to a dog.<|end|>" in text
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids[0]) == text  # byte-level BPE: lossless round trip
    torch.manual_seed(0)
    out = model.generate(ids, max_new_tokens=5, do_sample=True, temperature=0.6, top_p=0.9)
    assert out.shape[1] > ids.shape[1]
    assert isinstance(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True), str)


def test_tiny_coco_follows_the_zero_shot_protocol(demo_models: dict[str, Path]) -> None:
    from PIL import Image
    from tailorgen.data.labels import load_label_set

    root = demo_models["coco"]
    labels = load_label_set(root / "labels.json")
    assert len(labels.seen) == 6
    assert len(labels.unseen) == 4
    assert labels.confusable
    by_id = {cid: name for name, cid in labels.external_ids.items()}
    splits = {
        s: json.loads((root / "annotations" / f"instances_{s}.json").read_text())
        for s in ("train", "val", "test")
    }
    for split, data in splits.items():
        assert {c["name"] for c in data["categories"]} == set(labels.names)
        assert all(by_id[c["id"]] == c["name"] for c in data["categories"])
        used = {by_id[a["category_id"]] for a in data["annotations"]}
        assert used == (set(labels.seen) if split == "train" else set(labels.names)), split
        for image in data["images"]:
            with Image.open(root / "images" / image["file_name"]) as img:
                assert img.size == (image["width"], image["height"]) == (64, 64)
    names = {s: {i["file_name"] for i in d["images"]} for s, d in splits.items()}
    assert not names["val"] & names["test"]
    assert not names["train"] & (names["val"] | names["test"])
    annotated = {a["image_id"] for a in splits["train"]["annotations"]}
    assert annotated == {i["id"] for i in splits["train"]["images"]}


@pytest.mark.parametrize(
    "builder",
    [
        build_tiny_coco,
        lambda d: build_open_clip(d, "rn"),
        lambda d: build_open_clip(d, "vit"),
        build_causal_lm,
    ],
    ids=["coco", "clip-rn", "clip-vit", "lm"],
)
def test_builders_are_deterministic(tmp_path: Path, builder) -> None:  # type: ignore[no-untyped-def]
    assert _digest(builder(tmp_path / "a")) == _digest(builder(tmp_path / "b"))


def _fake_builders(monkeypatch: pytest.MonkeyPatch, calls: list[str]) -> None:
    def fake(key: str):  # type: ignore[no-untyped-def]
        def build(path: Path) -> Path:
            calls.append(key)
            path.mkdir(parents=True)
            (path / "weights").write_text(key)
            return path

        return build

    monkeypatch.setattr(demo_module, "_BUILDERS", {k: fake(k) for k in demo_module._BUILDERS})


def test_ensure_demo_models_caches_and_rebuilds_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    _fake_builders(monkeypatch, calls)
    paths = demo_module.ensure_demo_models(tmp_path / "models")
    assert set(paths) == {"sd", "clip-vit", "clip-rn", "lm", "coco"}
    assert all(p.is_dir() for p in paths.values())
    demo_module.ensure_demo_models(tmp_path / "models")
    assert len(calls) == 5  # the second call used the cache
    monkeypatch.setattr(demo_module, "DEMO_MODELS_VERSION", demo_module.DEMO_MODELS_VERSION + 1)
    demo_module.ensure_demo_models(tmp_path / "models")
    assert len(calls) == 10  # another version: rebuilt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]  # no staging or stale leftovers


def test_ensure_demo_models_is_safe_under_concurrency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_builders(monkeypatch, [])
    results: list[dict[str, Path]] = []
    threads = [
        threading.Thread(target=lambda: results.append(demo_module.ensure_demo_models(tmp_path / "m")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert all((p / "weights").read_text() == k for r in results for k, p in r.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_ensure_demo_models_refuses_a_foreign_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tailorgen.errors import TailorgenError

    calls: list[str] = []
    _fake_builders(monkeypatch, calls)
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(TailorgenError, match="not a tailorgen demo-models directory"):
        demo_module.ensure_demo_models(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    assert calls == []


def test_rn_clip_residual_branches_are_alive(demo_models: dict[str, Path]) -> None:
    """open_clip zero-initialises bn3; the tiny RN must not have dead bottlenecks (fusion heads sit there)."""
    import open_clip
    import torch

    visual = open_clip.create_model(f"local-dir:{demo_models['clip-rn']}").visual.eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    before = visual(x)
    with torch.no_grad():
        visual.layer2[0].conv2.weight.mul_(2.0)
    assert not torch.allclose(visual(x), before)

"""The clip-zeroshot baseline: template averaging, backbone names, QuickGELU for OpenAI weights."""

from __future__ import annotations

import open_clip
import pytest
import torch
from tailorgen.errors import TailorgenError
from tailorgen.evaluation.zeroshot import ClipZeroShot, split_backbone


def test_split_backbone() -> None:
    assert split_backbone("RN50:openai") == ("RN50", "openai")
    assert split_backbone("RN50") == ("RN50", None)
    assert split_backbone("local-dir:/a:b") == ("local-dir:/a:b", None)
    assert split_backbone("hf-hub:org/repo") == ("hf-hub:org/repo", None)


def test_text_embeddings_average_the_templates(demo_models) -> None:
    clip = ClipZeroShot(f"local-dir:{demo_models['clip-rn']}", "openai", templates=("a {}.", "the {} here."))
    assert clip.pretrained is None  # a local model names its own weights
    text = clip.text_embeddings(["cat", "dog"])
    model, _, tokenizer = clip._loaded
    with torch.no_grad():
        each = torch.nn.functional.normalize(
            model.encode_text(tokenizer(["a cat.", "the cat here."])), dim=-1
        )
    expected = torch.nn.functional.normalize(each.mean(0), dim=-1)
    torch.testing.assert_close(text[0], expected)
    assert torch.allclose(text.norm(dim=-1), torch.ones(2))
    images = torch.rand(3, 3, model.visual.image_size, model.visual.image_size)
    logits = clip.logits(images, text)
    assert logits.shape == (3, 2)
    assert logits.abs().max() <= 100 + 1e-4


def test_openai_weights_get_quick_gelu(monkeypatch) -> None:
    seen = {}

    def fake(name, pretrained=None, **kwargs):
        seen.update(name=name, pretrained=pretrained, **kwargs)
        raise RuntimeError("no network in tests")

    monkeypatch.setattr(open_clip, "create_model_and_transforms", fake)
    with pytest.raises(TailorgenError, match="cannot load 'RN50:openai'"):
        ClipZeroShot("RN50", "openai").transform  # noqa: B018
    assert seen == {"name": "RN50", "pretrained": "openai", "force_quick_gelu": True}
    with pytest.raises(TailorgenError, match="must each contain"):
        ClipZeroShot("RN50", templates=("no placeholder",))

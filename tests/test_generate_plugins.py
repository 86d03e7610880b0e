"""The ``diffusers`` generator and ``open-clip`` discriminator plugins on the tiny models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tailorgen.errors import PluginError, TailorgenError
from tailorgen.registry import create_discriminator, create_generator


@pytest.fixture(scope="module")
def generator(demo_models: dict[str, Path]):  # type: ignore[no-untyped-def]
    return create_generator(
        "diffusers", model=str(demo_models["sd"]), height=32, width=32, num_inference_steps=2, device="cpu"
    )


@pytest.fixture(scope="module")
def discriminator(demo_models: dict[str, Path]):  # type: ignore[no-untyped-def]
    return create_discriminator("open-clip", model=f"local-dir:{demo_models['clip-vit']}", device="cpu")


def _pixels(image) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(image, dtype=np.int16)


def test_image_depends_only_on_its_seed(generator) -> None:  # type: ignore[no-untyped-def]
    prompts = ["a cat on a sofa", "a bus in the rain", "a cow in a field"]
    seeds = [11, 22, 33]
    generator.options.batch_size = 3
    batched = generator.generate(prompts, seeds)
    generator.options.batch_size = 1
    alone = generator.generate(prompts[::-1], seeds[::-1])[::-1]  # other batch size and order
    again = generator.generate(prompts[:1], seeds[:1])
    generator.options.batch_size = 4
    for a, b in zip(batched, alone, strict=True):
        # batched kernels may round differently: at most one grey level here and there
        assert np.abs(_pixels(a) - _pixels(b)).max() <= 2
    assert np.array_equal(_pixels(alone[0]), _pixels(again[0]))
    other_seed = generator.generate(prompts[:1], [12])[0]
    assert np.abs(_pixels(other_seed) - _pixels(alone[0])).mean() > 5


def test_scheduler_by_name_and_unknown_names(demo_models: dict[str, Path], generator) -> None:  # type: ignore[no-untyped-def]
    assert type(generator.pipeline.scheduler).__name__ == "EulerDiscreteScheduler"
    ddim = create_generator("diffusers", model=str(demo_models["sd"]), scheduler="ddim", device="cpu")
    assert type(ddim.pipeline.scheduler).__name__ == "DDIMScheduler"
    with pytest.raises(PluginError, match="unknown scheduler 'warp-drive'"):
        create_generator("diffusers", scheduler="warp-drive")  # refused before any model loads
    bad = create_generator("diffusers", model=str(demo_models["sd"]), scheduler="WarpScheduler", device="cpu")
    with pytest.raises(PluginError, match="unknown scheduler 'WarpScheduler'"):
        bad.pipeline  # noqa: B018
    missing = create_generator("diffusers", model=str(demo_models["sd"] / "nope"), device="cpu")
    with pytest.raises(PluginError, match="cannot load pipeline"):
        missing.pipeline  # noqa: B018
    with pytest.raises(PluginError, match="num_inference_steps"):
        create_generator("diffusers", num_inference_steps=0)


def test_fine_tuned_text_encoder_replaces_the_stock_one(
    demo_models: dict[str, Path], generator, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    encoder = generator.pipeline.text_encoder
    tuned = type(encoder)(encoder.config)
    tuned.load_state_dict(encoder.state_dict())
    with torch.no_grad():
        for p in tuned.parameters():
            p.add_(0.05 * torch.randn_like(p))
    tuned.save_pretrained(tmp_path / "te")
    custom = create_generator(
        "diffusers",
        model=str(demo_models["sd"]),
        text_encoder=str(tmp_path / "te"),
        height=32,
        width=32,
        num_inference_steps=2,
        device="cpu",
    )
    loaded = custom.pipeline.text_encoder.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in tuned.state_dict().items())
    a = generator.generate(["a cat"], [5])[0]
    b = custom.generate(["a cat"], [5])[0]
    assert np.abs(_pixels(a) - _pixels(b)).max() > 0
    broken = create_generator(
        "diffusers", model=str(demo_models["sd"]), text_encoder=str(tmp_path), device="cpu"
    )
    with pytest.raises(PluginError, match=r"config\.json \+ \*\.safetensors"):
        broken.pipeline  # noqa: B018


def _save_lora(pipeline, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """A rank-4 LoRA on the UNet's attention projections with random (non-zero) up-weights."""
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig, get_peft_model_state_dict

    unet = type(pipeline.unet).from_config(pipeline.unet.config)
    unet.load_state_dict(pipeline.unet.state_dict())
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in unet.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=get_peft_model_state_dict(unet))


def test_lora_loads_from_safetensors_and_scales(
    demo_models: dict[str, Path], generator, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _save_lora(generator.pipeline, tmp_path / "lora")
    assert [p.name for p in (tmp_path / "lora").iterdir()] == ["pytorch_lora_weights.safetensors"]
    common = {"model": str(demo_models["sd"]), "height": 32, "width": 32, "num_inference_steps": 2}
    plain = generator.generate(["a cat"], [5])[0]
    for scale, changes in ((1.0, True), (0.0, False)):
        tuned = create_generator(
            "diffusers", **common, lora=str(tmp_path / "lora"), lora_scale=scale, device="cpu"
        )
        image = tuned.generate(["a cat"], [5])[0]
        assert (np.abs(_pixels(image) - _pixels(plain)).max() > 2) == changes, scale
    # pickle weights are refused (diffusers alone would fall back to pytorch_lora_weights.bin)
    (tmp_path / "lora" / "pytorch_lora_weights.safetensors").rename(
        tmp_path / "lora" / "pytorch_lora_weights.bin"
    )
    refused = create_generator("diffusers", **common, lora=str(tmp_path / "lora"), device="cpu")
    with pytest.raises(PluginError, match="cannot load LoRA .*safetensors only"):
        refused.pipeline  # noqa: B018


def test_discriminator_scores_and_caches_text(discriminator, generator, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    images = generator.generate(["a cat", "a bus"], [1, 2])
    names = ["bus", "cat", "cow"]
    calls = []
    encode_text = discriminator.model.encode_text
    monkeypatch.setattr(discriminator.model, "encode_text", lambda t: calls.append(1) or encode_text(t))
    u = discriminator.score(images, names)
    u2 = discriminator.score(images[::-1], names)
    assert u.shape == (2, 3)
    assert u.dtype == torch.float32
    assert len(calls) <= 1  # computed at most once for this label list
    torch.testing.assert_close(u, u2.flip(0))
    assert float(u.abs().max()) <= 100.0
    pixels = torch.stack([torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255 for im in images])
    pixels.requires_grad_(True)
    ut = discriminator.score_tensors(pixels, names)
    torch.testing.assert_close(ut.detach(), u, atol=1.0, rtol=0)  # PIL and tensor resizes differ slightly
    ut[:, 1].sum().backward()
    assert pixels.grad is not None
    assert pixels.grad.abs().sum() > 0


def test_clip_preprocessing_antialiases(discriminator) -> None:  # type: ignore[no-untyped-def]
    from tailorgen.plugins.clip_pixels import clip_preprocess_tensors

    checker = (torch.arange(256).view(1, -1) + torch.arange(256).view(-1, 1)) % 2
    image = checker.float().expand(1, 3, 256, 256)
    x = clip_preprocess_tensors(image, discriminator.model)
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
    grey = (x * std + mean)[..., 4:-4, 4:-4]  # away from the borders
    # an antialiased 4x downscale of a 1-pixel checkerboard is flat grey; nearest would give 0s or 1s
    assert torch.allclose(grey, torch.full_like(grey, 0.5), atol=0.02)
    pil = discriminator.transform
    assert "bicubic" in repr(pil).lower()
    assert "antialias=true" in repr(pil).lower().replace(" ", "")


def test_logit_scale_option_scales_every_logit(
    demo_models: dict[str, Path], generator, discriminator
) -> None:  # type: ignore[no-untyped-def]
    images = generator.generate(["a cat"], [3])
    names = ["bus", "cat", "cow"]
    learned = create_discriminator(
        "open-clip", model=f"local-dir:{demo_models['clip-vit']}", device="cpu", logit_scale="model"
    )
    scale = float(learned.model.logit_scale.exp())
    assert scale != pytest.approx(100.0)  # the tiny CLIP keeps open_clip's initial 1/0.07
    torch.testing.assert_close(learned.score(images, names), discriminator.score(images, names) * scale / 100)
    halved = create_discriminator(
        "open-clip", model=f"local-dir:{demo_models['clip-vit']}", device="cpu", logit_scale=50
    )
    torch.testing.assert_close(halved.score(images, names), discriminator.score(images, names) / 2)
    with pytest.raises(PluginError, match="logit_scale"):
        create_discriminator("open-clip", logit_scale="learned")


def test_discriminator_options_and_load_errors(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="rule"):
        create_discriminator("open-clip", rule="lenient")
    broken = create_discriminator("open-clip", model=f"local-dir:{tmp_path}", device="cpu")
    with pytest.raises(TailorgenError, match="open-clip: cannot load"):
        broken.score([Image.new("RGB", (8, 8))], ["cat"])


def test_openai_weights_get_quick_gelu() -> None:
    from tailorgen.plugins.open_clip_discriminator import OpenClipOptions, uses_quick_gelu

    assert uses_quick_gelu(OpenClipOptions())  # the paper's ViT-B-32 / openai
    assert not uses_quick_gelu(OpenClipOptions(pretrained="laion2b_s34b_b79k"))
    assert not uses_quick_gelu(OpenClipOptions(model="local-dir:/x"))
    assert uses_quick_gelu(OpenClipOptions(model="local-dir:/x", quick_gelu=True))


def test_default_negative_prompt_is_the_reference_string() -> None:
    from types import SimpleNamespace

    generator = create_generator("diffusers", model="not-loaded", device="cpu")
    calls: list[dict] = []

    def pipeline(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return SimpleNamespace(images=[None] * len(kwargs["prompt"]))

    generator.__dict__["pipeline"] = pipeline  # the cached pipeline property, never loaded
    generator.generate(["a cat on a mat", "a dog"], [0, 1])
    reference = (
        "watermark, text, poorly-drawn-eyes, poorly-drawn-fingers, bad-anatomy, ugly, extra fingers, "
        "extra limbs, missing fingers, missing limbs, deformed, mutated hands and fingers"
    )
    assert [call["negative_prompt"] for call in calls] == [[reference, reference]]

"""Pretrain the shapes world's models on 2 CPU cores: a CLIP (ModifiedResNet) and a tiny Stable Diffusion.

Both learn from pretraining-domain image-caption pairs (:mod:`tailorgen.testing.shapes`) covering all
12 shapes, as web-scale pretraining covers every COCO class. Outputs (safetensors only):

- ``OUT/clip``: open_clip ``local-dir:`` layout (load with ``local-dir:OUT/clip``);
- ``OUT/sd``: ``StableDiffusionPipeline.save_pretrained`` (64 px images, 16x16x4 latents).

Deterministic (every batch is drawn from a generator seeded by (seed, part, step)) and resumable:
each part checkpoints under ``WORK/<part>/`` and a re-run continues from the last checkpoint.

    python benchmarks/shapes/pretrain.py --part clip   # or vae, then unet (needs the vae); or all
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tailorgen.io import atomic_path, atomic_write_json
from tailorgen.runtime.progress import progress
from tailorgen.testing.clip_tokenizer import build_clip_tokenizer
from tailorgen.testing.shapes import caption, render, sample_scene
from tailorgen.testing.tiny_clip import save_open_clip
from tailorgen.testing.tiny_sd import save_sd_pipeline, sd_text_encoder, sd_vae

HERE = Path(__file__).resolve().parent
#: both models see the rendered scenes at their native 64 px; CLIP text context in tokens
SIZE, CONTEXT = 64, 32

CLIP_CFG: dict[str, Any] = {
    "embed_dim": 64,
    # RN50's layout (stem, 4 bottleneck stages, attention pool) at width 16: 2x2 regions at 64 px.
    "vision_cfg": {
        "image_size": SIZE,
        "layers": [1, 1, 1, 1],
        "width": 16,
        "head_width": 32,
        "patch_size": None,
    },
    "text_cfg": {"context_length": CONTEXT, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 3},
}
STEPS = {"clip": 4000, "vae": 800, "unet": 9000}
#: the UNet and text encoder are sampled from an exponential moving average of their weights
EMA_DECAY = 0.999
#: min-SNR loss weighting (Hang et al. 2023): converges several times faster than plain epsilon MSE
MIN_SNR_GAMMA = 5.0
BATCH = {"clip": 96, "vae": 32, "unet": 32}
LR = {"clip": 1e-3, "vae": 1e-3, "unet": 1e-3}


def pairs(seed: int, count: int, web_words: bool = False) -> tuple[np.ndarray, list[str]]:
    """``count`` pretraining-domain images (uint8, N x 64 x 64 x 3) and their captions."""
    rng = random.Random(seed)
    images, captions = [], []
    for _ in progress(range(count), desc="render pairs"):
        scene = sample_scene(rng, "pretrain", SIZE)
        images.append(np.asarray(render(scene)))
        captions.append(caption(rng, scene, web_words=web_words))
    return np.stack(images), captions


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [0, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


# -- checkpoints (safetensors: model weights and optimiser moments; the step in a JSON) -------------


def save_checkpoint(folder: Path, models: dict[str, torch.nn.Module], opt: Any, step: int) -> None:
    tensors = {
        f"{n}.{k}": v.detach().clone().contiguous()
        for n, m in models.items()
        for k, v in m.state_dict().items()
    }
    for pid, state in opt.state_dict()["state"].items():
        tensors.update({f"opt.{pid}.{k}": v.clone().contiguous() for k, v in state.items()})
    with atomic_path(folder / "checkpoint.safetensors") as tmp:
        save_file(tensors, str(tmp))
    atomic_write_json(folder / "checkpoint.json", {"step": step})


def load_checkpoint(folder: Path, models: dict[str, torch.nn.Module], opt: Any) -> int:
    if not (folder / "checkpoint.json").exists():
        return 0
    step = json.loads((folder / "checkpoint.json").read_text())["step"]
    tensors = load_file(str(folder / "checkpoint.safetensors"))
    for name, model in models.items():
        model.load_state_dict({k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")})
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, pid, field = key.split(".", 2)
            state.setdefault(int(pid), {})[field] = value
    opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})
    return int(step)


def train(
    part: str,
    work: Path,
    models: dict[str, torch.nn.Module],
    loss_fn: Any,
    seed: int,
    *,
    after_step: Any = None,
    schedule: tuple[int, float, int] | None = None,
) -> None:
    """AdamW with warm-up + cosine decay; ``loss_fn(generator, batch_size, step)`` draws its own batch.

    Frozen models in ``models`` (an EMA copy) are checkpointed but not optimised. ``schedule``:
    (steps, lr, batch), default this part's entries of ``STEPS``, ``LR`` and ``BATCH``.
    """
    total, base_lr, batch = schedule or (STEPS[part], LR[part], BATCH[part])
    params = [p for m in models.values() for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=base_lr, weight_decay=0.01)
    folder = work / part
    start = load_checkpoint(folder, models, opt)
    bar = progress(range(start, total), total=total, initial=start, desc=f"pretrain {part}")
    for step in bar:
        lr = base_lr * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / total))
        for group in opt.param_groups:
            group["lr"] = lr
        generator = torch.Generator().manual_seed(seed * 1_000_003 + hash_part(part) + step)
        loss = loss_fn(generator, batch, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if after_step is not None:
            after_step(step)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if (step + 1) % 50 == 0 or step + 1 == total:
            save_checkpoint(folder, models, opt, step + 1)


def hash_part(part: str) -> int:
    return sum(ord(c) * 131**i for i, c in enumerate(part)) % 1_000_000


def random_zoom_out(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shrink each image by 0.6-1.0 about a random point, padding with its edge (web shapes vary in size)."""
    batch = x.shape[0]
    scale = 1 / (0.6 + 0.4 * torch.rand(batch, generator=generator))
    shift = (scale - 1)[:, None] * (2 * torch.rand(batch, 2, generator=generator) - 1)
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, padding_mode="border", align_corners=False)


def random_backgrounds(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Half the images get a random gradient/stripes/checker background (web images vary).

    Pretraining backgrounds are plain, so the top-left pixel's colour tells background from shape.
    """
    batch, _, size, _ = x.shape
    alpha = ((x - x[:, :, :1, :1]).abs().amax(1, keepdim=True) / 0.15).clamp(0, 1)
    a, b = (0.1 + 0.8 * torch.rand(batch, 3, 1, 1, generator=generator) for _ in range(2))
    period = torch.randint(3, 10, (batch, 1, 1, 1), generator=generator).float()
    ys, xs = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    patterns = torch.stack(
        [
            ((xs + ys) / (2 * size - 2)).expand(batch, 1, size, size),
            torch.floor((xs + ys) / period) % 2,
            (torch.floor(xs / period) + torch.floor(ys / period)) % 2,
        ]
    )
    kind = torch.randint(3, (batch,), generator=generator)
    texture = a + (b - a) * patterns[kind, torch.arange(batch)]
    replace = (torch.rand(batch, 1, 1, 1, generator=generator) < 0.5).float()
    return x * (1 - replace * (1 - alpha)) + replace * (1 - alpha) * texture


# -- CLIP -----------------------------------------------------------------------------------------


def contrastive_loss(
    model: Any, image: torch.Tensor, text: torch.Tensor, tokens: torch.Tensor
) -> torch.Tensor:
    """Symmetric InfoNCE of normalised embeddings; pairs with the same caption ``tokens`` all count as positives."""
    logits = model.logit_scale.exp().clamp(max=100) * image @ text.T
    same = (tokens[:, None, :] == tokens[None, :, :]).all(-1).float()  # captions repeat in a batch
    target = same / same.sum(1, keepdim=True)
    return 0.5 * (
        torch.nn.functional.cross_entropy(logits, target)
        + torch.nn.functional.cross_entropy(logits.T, target)
    )


def new_clip(config: dict[str, Any], seed: int) -> Any:
    """A freshly initialised ``open_clip.CLIP(**config)`` (seeded) whose ResNet blocks all start alive."""
    import open_clip

    torch.manual_seed(seed)
    model = open_clip.CLIP(**config)
    with torch.no_grad():  # open_clip zero-inits each bottleneck's bn3; a trained RN50 has none dead
        for name, param in model.visual.named_parameters():
            if name.endswith("bn3.weight"):
                param.fill_(1.0)
    return model


def pretrain_clip(images: np.ndarray, captions: list[str], work: Path, out: Path, seed: int) -> None:
    import open_clip

    model = new_clip(CLIP_CFG, seed)
    tokens = open_clip.tokenize(captions, context_length=CONTEXT)
    mean = torch.tensor(open_clip.OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(open_clip.OPENAI_DATASET_STD).view(1, 3, 1, 1)

    def loss_fn(generator: torch.Generator, batch: int, step: int) -> torch.Tensor:
        index = torch.randint(len(captions), (batch,), generator=generator)
        x = random_backgrounds(random_zoom_out(to_tensor(images[index.numpy()]), generator), generator)
        # Light photometric augmentation (web images vary): brightness/contrast jitter and noise.
        scale = 0.75 + 0.5 * torch.rand(batch, 1, 1, 1, generator=generator)
        shift = 0.2 * torch.rand(batch, 1, 1, 1, generator=generator) - 0.1
        sigma = 0.06 * torch.rand(batch, 1, 1, 1, generator=generator)
        x = (x - 0.5) * scale + 0.5 + shift + sigma * torch.randn(x.shape, generator=generator)
        x = (x.clamp(0, 1) - mean) / std
        image = torch.nn.functional.normalize(model.encode_image(x), dim=-1)
        text = torch.nn.functional.normalize(model.encode_text(tokens[index]), dim=-1)
        return contrastive_loss(model, image, text, tokens[index])

    model.train()
    train("clip", work, {"clip": model}, loss_fn, seed)
    model.eval()
    save_open_clip(model, CLIP_CFG, out / "clip")


# -- Stable Diffusion -----------------------------------------------------------------------------


def _vae() -> Any:
    return sd_vae(block_out_channels=(16, 32, 32), sample_size=SIZE)


def _text_encoder() -> Any:
    return sd_text_encoder(intermediate_size=128, layers=3)


def _unet() -> Any:
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=SIZE // 4,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(32, 64, 64),
        # no attention at 16x16 (its cost); cross-attention places shapes at 8x8 and 4x4
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=16,
    )


def pretrain_vae(images: np.ndarray, work: Path, seed: int) -> Any:
    torch.manual_seed(seed)
    vae = _vae()

    def loss_fn(generator: torch.Generator, batch: int, step: int) -> torch.Tensor:
        index = torch.randint(len(images), (batch,), generator=generator)
        x = to_tensor(images[index.numpy()]) * 2 - 1
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample(generator=generator)).sample
        return (recon - x).abs().mean() + (recon - x).pow(2).mean() + 1e-6 * posterior.kl().mean()

    vae.train()
    train("vae", work, {"vae": vae}, loss_fn, seed)
    vae.eval()
    with torch.no_grad():  # SD's scaling_factor: unit-variance latents for the diffusion model
        latents = vae.encode(to_tensor(images[:512]) * 2 - 1).latent_dist.mean
    vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    return vae


def pretrain_unet(
    images: np.ndarray, captions: list[str], vae: Any, *, work: Path, out: Path, seed: int
) -> None:
    from diffusers import DDPMScheduler

    torch.manual_seed(seed)
    unet, text_encoder = _unet(), _text_encoder()
    scheduler = DDPMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000
    )
    tokenizer = build_clip_tokenizer()
    ids = tokenizer(
        [*captions, ""], padding="max_length", max_length=77, truncation=True, return_tensors="pt"
    ).input_ids
    latents = []
    with torch.no_grad():
        for start in progress(range(0, len(images), 256), desc="encode latents"):
            x = to_tensor(images[start : start + 256]) * 2 - 1
            latents.append(vae.encode(x).latent_dist.mean * vae.config.scaling_factor)
    latent = torch.cat(latents)

    def loss_fn(generator: torch.Generator, batch: int, step: int) -> torch.Tensor:
        index = torch.randint(len(captions), (batch,), generator=generator)
        # 10% empty captions: the unconditional model classifier-free guidance needs.
        drop = torch.rand(batch, generator=generator) < 0.1
        text = text_encoder(torch.where(drop[:, None], ids[-1], ids[index])).last_hidden_state
        noise = torch.randn(latent[index].shape, generator=generator)
        t = torch.randint(1000, (batch,), generator=generator)
        noisy = scheduler.add_noise(latent[index], noise, t)
        error = (unet(noisy, t, text).sample - noise).pow(2).mean((1, 2, 3))
        return (error * snr_weight[t]).mean()

    alphas = scheduler.alphas_cumprod
    snr = alphas / (1 - alphas)
    snr_weight = snr.clamp(max=MIN_SNR_GAMMA) / snr
    ema_unet, ema_text = (copy.deepcopy(m).requires_grad_(False) for m in (unet, text_encoder))
    averaged = [(ema_unet, unet), (ema_text, text_encoder)]

    def update_ema(step: int) -> None:
        decay = min(EMA_DECAY, (1 + step) / (10 + step))
        with torch.no_grad():
            for ema, model in averaged:
                for e, p in zip(ema.parameters(), model.parameters(), strict=True):
                    e.lerp_(p, 1 - decay)

    unet.train()
    text_encoder.train()
    models = {"unet": unet, "text_encoder": text_encoder, "ema_unet": ema_unet, "ema_text": ema_text}
    train("unet", work, models, loss_fn, seed, after_step=update_ema)
    save_sd_pipeline(out / "sd", vae=vae, text_encoder=ema_text.eval(), unet=ema_unet.eval())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=("clip", "sd", "all"), default="all")
    parser.add_argument("--out", type=Path, default=HERE / "weights")
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="checkpoints (resume from here)")
    parser.add_argument("--pairs", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="2 steps per part (a check that it runs)")
    args = parser.parse_args()
    if args.smoke:
        STEPS.update(dict.fromkeys(STEPS, 2))
    torch.set_num_threads(args.threads)
    started = time.time()
    images, captions = pairs(args.seed, args.pairs)  # the CLIP's pairs and the VAE's images
    if args.part in ("clip", "all"):
        pretrain_clip(images, captions, args.work, args.out, args.seed)
    if args.part in ("sd", "all"):
        vae = pretrain_vae(images, args.work, args.seed)
        # The generator reads LLM/template prompts: its captions also use the template writer's words.
        images, captions = pairs(args.seed + 1, args.pairs, web_words=True)
        pretrain_unet(images, captions, vae, work=args.work, out=args.out, seed=args.seed)
    print(f"pretrain {args.part}: done in {time.time() - started:.0f} s -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

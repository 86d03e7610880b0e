"""Peak memory of one L_TE fine-tuning step at 4 and 32 sampling steps, with and without checkpointing.

One optimizer step = differentiable CFG sampling + VAE decode + CLIP scoring + L_TE + backward + AdamW.
Each configuration runs in a fresh subprocess (RSS never shrinks): load the models, reset the peak,
take the measured step (on CUDA after one warm-up step).
- CPU: the peak is the process's RSS high-water mark (``/proc/self/clear_refs`` resets it). glibc is
  told to hand buffers above 64 KiB straight back to the OS, so RSS tracks live tensors rather than
  heap glibc keeps after frees (``--mmap-threshold 0`` measures with glibc's defaults).
- CUDA: ``torch.cuda.max_memory_allocated``.
``step`` is the peak minus the memory held just before the step (the step's activations and
temporaries). The last line is ``ratio=<step peak at 32 steps / at 4 steps, with checkpointing>``
(target <= 1.5).

    python benchmarks/finetune_memory.py [--models DIR] [--resolution 128] [--steps 4 32]
    python benchmarks/finetune_memory.py --arch sd2 --resolution 560 --steps 4 30   # GPU, SD2-sized

``--arch sd2`` builds randomly initialised models with Stable Diffusion 2's architecture (UNet, VAE,
OpenCLIP ViT-H text encoder) in fp16 beside a ViT-B-32 CLIP: the memory a real SD2 run needs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tailorgen.cli.demo import default_models_dir

MB = 2**20


def _rss_high_water() -> tuple[int, int]:
    """(current RSS, peak RSS since the last reset) in bytes, from /proc/self/status."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def _reset_rss_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current RSS


def _sd2_generator(device: Any) -> Any:
    """The diffusers generator plugin around a random-weight SD2-architecture pipeline (fp16)."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from tailorgen.registry import create_generator
    from tailorgen.testing.clip_tokenizer import build_clip_tokenizer
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.set_default_device(device)  # initialise the random weights where they will run (fast on GPU)
    unet = UNet2DConditionModel(
        sample_size=96,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        block_out_channels=(320, 640, 1280, 1280),
        attention_head_dim=(5, 10, 20, 20),
        cross_attention_dim=1024,
        use_linear_projection=True,
    )
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=4,
        sample_size=768,
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=1024,
            intermediate_size=4096,
            num_attention_heads=16,
            num_hidden_layers=23,
            projection_dim=512,
            hidden_act="gelu",
            vocab_size=49408,
        )
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        prediction_type="v_prediction",
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text,
        tokenizer=build_clip_tokenizer(),
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    torch.set_default_device(None)
    pipe.unet.to(device, torch.float16)
    pipe.vae.to(device, torch.float16)
    pipe.text_encoder.to(device)
    generator = create_generator("diffusers", device=str(device))
    generator.__dict__["pipeline"] = pipe  # the plugin's cached pipeline, without a Hub download
    return generator


def _plugins(args: argparse.Namespace, device: Any) -> tuple[Any, Any]:
    from tailorgen.registry import create_discriminator, create_generator
    from tailorgen.testing import ensure_demo_models

    if args.arch == "sd2":
        return _sd2_generator(device), create_discriminator(
            "open-clip", model="ViT-B-32", pretrained=None, device=str(device), dtype="float16"
        )
    models = ensure_demo_models(args.models)
    generator = create_generator(
        "diffusers", model=str(models["sd"]), device=str(device), local_files_only=True
    )
    discriminator = create_discriminator(
        "open-clip", model=f"local-dir:{models['clip-vit']}", device=str(device)
    )
    return generator, discriminator


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """One configuration, in this process: warm-up step, reset the peak, measured step."""
    import torch
    from tailorgen.finetune import PromptPool
    from tailorgen.finetune.objective import LTEObjective
    from tailorgen.runtime.devices import resolve_device
    from tailorgen.stages.finetune import Settings

    torch.manual_seed(0)
    device = resolve_device(args.device)
    generator, discriminator = _plugins(args, device)
    labels = ["bus", "cat", "cow", "elephant"]
    settings = Settings(
        sampling_steps=args.sampling_steps,
        resolution=args.resolution,
        checkpoint_steps=args.checkpoint,
        checkpoint_blocks=args.checkpoint_blocks,
    )
    pool = PromptPool(((("bus", "cow"), ("a red bus next to a brown cow on a country road",)),))
    objective = LTEObjective(
        generator,
        discriminator,
        pool=pool,
        label_names=labels,
        settings=settings,
        negative_prompt="watermark, text",
        seed_for=lambda *parts: 0,
    )
    encoder = generator.trainable_text_encoder()
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-8)

    def step() -> float:
        objective(0, 0).loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return norm

    cuda = device.type == "cuda"
    if cuda:  # allocated bytes are exact however the caching allocator reuses memory
        step()  # warm-up: optimizer state, cuBLAS workspaces, lazy kernels
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:  # RSS sees freed-but-kept heap as used, so measure the process's first step
        _reset_rss_peak()
        before = _rss_high_water()[0]
    start = time.perf_counter()
    try:
        norm = step()
    except torch.cuda.OutOfMemoryError:
        return {"peak_mb": None, "step_mb": None, "seconds": None, "grad_norm": None}
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() if cuda else _rss_high_water()[1]
    return {"peak_mb": peak / MB, "step_mb": (peak - before) / MB, "seconds": seconds, "grad_norm": norm}


def _child(args: argparse.Namespace, steps: int, checkpoint: bool) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--models",
        str(args.models),
        "--arch",
        args.arch,
        "--device",
        args.device,
        "--resolution",
        str(args.resolution),
        "--sampling-steps",
        str(steps),
    ]
    cmd += ["--checkpoint"] if checkpoint else []
    cmd += ["--checkpoint-blocks"] if args.checkpoint_blocks else []
    env = dict(os.environ)
    if args.mmap_threshold:  # freed tensors go back to the OS: RSS tracks live memory, not glibc's kept heap
        env["MALLOC_MMAP_THRESHOLD_"] = str(args.mmap_threshold)
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise SystemExit(f"configuration steps={steps} checkpoint={checkpoint} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(value: float | None) -> str:
    return "OOM" if value is None else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # the tiny world's cache folder, as `tailorgen demo --world tiny` uses: nothing left untracked
    parser.add_argument("--models", type=Path, default=default_models_dir("tiny"))
    parser.add_argument("--arch", choices=["tiny", "sd2"], default="tiny")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--steps", type=int, nargs=2, default=[4, 32], metavar=("FEW", "MANY"))
    parser.add_argument("--checkpoint-blocks", action="store_true", help="also checkpoint inside UNet/VAE")
    parser.add_argument(
        "--mmap-threshold",
        type=int,
        default=65536,
        help="CPU: glibc MALLOC_MMAP_THRESHOLD_ for the measured process (0: glibc's default heap)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sampling-steps", type=int, default=4, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return
    if args.arch == "tiny":
        from tailorgen.testing import ensure_demo_models

        ensure_demo_models(args.models)
    rows = {(s, c): _child(args, s, c) for c in (True, False) for s in args.steps}
    print(
        f"L_TE step, {args.arch} models, {args.resolution} px, device {args.device}"
        f"{', block checkpointing' if args.checkpoint_blocks else ''}"
    )
    print(
        f"{'sampling steps':>14} {'checkpointing':>13} {'peak MB':>9} {'step MB':>9} {'seconds':>8} {'grad norm':>10}"
    )
    for (steps, ckpt), row in rows.items():
        print(
            f"{steps:>14} {'on' if ckpt else 'off':>13} {_fmt(row['peak_mb']):>9} {_fmt(row['step_mb']):>9}"
            f" {_fmt(row['seconds']):>8} {'-' if row['grad_norm'] is None else format(row['grad_norm'], '.3g'):>10}"
        )
    few, many = rows[(args.steps[0], True)], rows[(args.steps[1], True)]
    if few["step_mb"] and many["step_mb"]:
        print(f"peak ratio (absolute) with checkpointing: {many['peak_mb'] / few['peak_mb']:.3f}")
        print(f"ratio={many['step_mb'] / few['step_mb']:.3f}")
    else:
        print("ratio=nan")


if __name__ == "__main__":
    main()

"""GPU smoke check on tiny models: generation (bf16, fp16), one L_TE step with its CUDA peak memory,
one classifier training step, and a classifier inference timing. Needs CUDA; prints one table.

    python benchmarks/gpu_smoke.py            # on a machine with a GPU (tiny models, offline)

It exits non-zero on the first failure. Last line: ``ratio=<L_TE peak at 32 steps / at 4 steps>``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
from tailorgen.classifier import Classifier
from tailorgen.classifier.loss import softmax_asymmetric_loss
from tailorgen.finetune.loss import lte_loss
from tailorgen.registry import create_discriminator, create_generator
from tailorgen.synthetic.scoring import grouping_log_softmax
from tailorgen.testing import ensure_demo_models

PROMPTS = ["a cat next to a bus on a sunny street", "an umbrella next to a cup on a table"] * 2
LABELS = ["cat", "bus", "umbrella", "cup"]


def _sync_time(fn):  # type: ignore[no-untyped-def]
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return out, time.perf_counter() - start


def generation(models: dict[str, Path], rows: list[tuple[str, str]]) -> None:
    for dtype in ("bfloat16", "float16"):
        gen = create_generator(
            "diffusers",
            model=str(models["sd"]),
            device="cuda",
            dtype=dtype,
            num_inference_steps=4,
            height=64,
            width=64,
            batch_size=4,
            local_files_only=True,
        )
        gen.generate(PROMPTS[:1], [0])  # warm-up
        images, seconds = _sync_time(lambda gen=gen: gen.generate(PROMPTS, [0, 1, 2, 3]))
        assert len(images) == 4
        assert images[0].size == (64, 64)
        rows.append((f"generate 4 images, {dtype}", f"{seconds * 1000:.0f} ms"))


def lte_peak(models: dict[str, Path], steps: int) -> tuple[float, float]:
    gen = create_generator(
        "diffusers", model=str(models["sd"]), device="cuda", dtype="float16", local_files_only=True
    )
    disc = create_discriminator("open-clip", model=f"local-dir:{models['clip-vit']}", device="cuda")
    encoder = gen.trainable_text_encoder()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    images = gen.sample_with_grad(PROMPTS[:1], "", 0, steps=steps, height=64, width=64, guidance_scale=7.5)
    logits = disc.score_tensors(images, LABELS).float()
    targets = torch.zeros_like(logits, dtype=torch.bool)
    targets[:, :2] = True
    loss = lte_loss(grouping_log_softmax(logits, targets), targets)
    loss.backward()
    grads = [p.grad for p in encoder.parameters() if p.grad is not None]
    assert grads, "no gradient reached the text encoder"
    assert all(torch.isfinite(g).all() for g in grads), "non-finite L_TE gradients"
    return (torch.cuda.max_memory_allocated() - base) / 2**20, float(loss.detach())


def classifier_step(models: dict[str, Path], rows: list[tuple[str, str]]) -> None:
    model = Classifier.build(
        f"local-dir:{models['clip-rn']}", LABELS, fusion_head="global-branch", n_ctx=4
    ).cuda()
    size = model.image_size
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    images = torch.randn(8, 3, size, size, device="cuda")
    targets = (torch.rand(8, len(LABELS), device="cuda") > 0.5).float()
    model.train()

    def step() -> float:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model.logits(images, model.text_features_for(LABELS))
        loss = softmax_asymmetric_loss(logits.float(), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    loss, seconds = _sync_time(step)
    rows.append(("classifier train step (bf16, batch 8)", f"{seconds * 1000:.0f} ms, loss {loss:.4f}"))
    model.eval()
    with torch.no_grad():
        model(images)
        _, seconds = _sync_time(lambda: model(images))
    rows.append(("classifier inference (batch 8)", f"{8 / seconds:.0f} img/s"))


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit(
            "gpu_smoke: needs a CUDA GPU and torch sees none (torch.cuda.is_available() is false)"
        )
    rows: list[tuple[str, str]] = [("device", torch.cuda.get_device_name())]
    with tempfile.TemporaryDirectory() as tmp:
        models = ensure_demo_models(Path(tmp) / "models")
        generation(models, rows)
        peaks = {}
        for steps in (4, 32):
            peaks[steps], loss = lte_peak(models, steps)
            rows.append(
                (f"L_TE step, {steps} sampling steps", f"peak {peaks[steps]:.1f} MiB, loss {loss:.3f}")
            )
        classifier_step(models, rows)
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"ratio={peaks[32] / peaks[4]:.3f}")


if __name__ == "__main__":
    main()

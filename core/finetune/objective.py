"""One L_TE micro-batch: draw a label set and prompts, sample with grad, score, grouping softmax, loss."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from tailorgen.finetune.loss import lte_loss
from tailorgen.finetune.prompt_pool import PromptPool
from tailorgen.finetune.trainer import MicroStep
from tailorgen.synthetic.scoring import accept_strict, grouping_log_softmax

__all__ = ["LTEObjective"]


class LTEObjective:
    """``objective(step, micro) -> MicroStep``; every draw is seeded from ``seed_for(..., step, micro)``."""

    def __init__(
        self,
        generator: Any,
        discriminator: Any,
        *,
        pool: PromptPool,
        label_names: list[str],
        settings: Any,
        negative_prompt: str,
        seed_for: Callable[..., int],
        extra_draw: bool = True,
    ) -> None:
        self.generator = generator
        self.discriminator = discriminator
        self.pool = pool
        self.label_names = list(label_names)
        self.column = {name: i for i, name in enumerate(self.label_names)}
        self.images_per_step = settings.images_per_step
        self.loss_options = {
            "clip": settings.loss_clip,
            "gamma": settings.loss_gamma,
            "log_clamp": settings.log_clamp,
        }
        self.draw_options = {"label_sets": settings.label_sets, "extra_draw": extra_draw}
        self.sampling = {
            "steps": settings.sampling_steps,
            "height": settings.resolution,
            "width": settings.resolution,
            "guidance_scale": settings.guidance_scale,
            "checkpoint_steps": settings.checkpoint_steps,
            "checkpoint_blocks": settings.checkpoint_blocks,
        }
        self.negative_prompt = negative_prompt
        self.seed_for = seed_for

    def __call__(self, step: int, micro: int) -> MicroStep:
        labels, prompts = self.pool.draw(
            self.seed_for("finetune", "draw", step, micro), self.images_per_step, **self.draw_options
        )
        seed = self.seed_for("finetune", "latents", step, micro)
        images = self.generator.sample_with_grad(prompts, self.negative_prompt, seed, **self.sampling)
        logits = self.discriminator.score_tensors(images, self.label_names).float()
        targets = torch.zeros_like(logits, dtype=torch.bool)
        targets[:, [self.column[name] for name in labels]] = True
        log_v = grouping_log_softmax(logits, targets)
        loss = lte_loss(log_v, targets, **self.loss_options)
        accepted = int(accept_strict(log_v.detach().exp(), targets).sum())
        return MicroStep(loss=loss, accepted=accepted, images=len(prompts), labels=labels)

"""One L_TE micro-batch: draw a label set and prompts, sample with grad, score, grouping softmax, loss."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from tailorgen.finetune.label_quota import LabelQuota
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
        rule: Any = None,
        label_set: Any = None,
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
        # the shrinking pool (label_quota) counts the labels the filter's own rule gives accepted images
        self.quota = LabelQuota(getattr(settings, "label_quota", None))
        self.rule, self.label_set = rule, label_set

    def observe(self, record: dict[str, Any]) -> None:
        """Learn a finished step's outcome (the trainer calls this; it shrinks the label pool)."""
        self.quota.observe(record)

    def _credited(self, logits: torch.Tensor, targets: torch.Tensor) -> tuple[str, ...]:
        """The labels of every image the filter's rule accepts (extras and parents included)."""
        if self.quota.quota is None or self.rule is None:
            return ()
        judged = self.rule.judge(logits.detach(), targets, self.label_names, self.label_set)
        names = set(self.label_set.unseen) if self.label_set is not None else set(self.label_names)
        return tuple(
            name
            for ok, labels in zip(judged.accepted, judged.labels, strict=True)
            if ok
            for name in labels
            if name in names
        )

    def __call__(self, step: int, micro: int) -> MicroStep:
        labels, prompts = self.pool.draw(
            self.seed_for("finetune", "draw", step, micro),
            self.images_per_step,
            retired=self.quota.retired,
            **self.draw_options,
        )
        seed = self.seed_for("finetune", "latents", step, micro)
        images = self.generator.sample_with_grad(prompts, self.negative_prompt, seed, **self.sampling)
        logits = self.discriminator.score_tensors(images, self.label_names).float()
        targets = torch.zeros_like(logits, dtype=torch.bool)
        targets[:, [self.column[name] for name in labels]] = True
        log_v = grouping_log_softmax(logits, targets)
        loss = lte_loss(log_v, targets, **self.loss_options)
        accepted = int(accept_strict(log_v.detach().exp(), targets).sum())
        return MicroStep(
            loss=loss,
            accepted=accepted,
            images=len(prompts),
            labels=labels,
            credited=self._credited(logits, targets),
        )

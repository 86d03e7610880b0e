"""Text-encoder fine-tuning with the CLIP-score loss L_TE: loss, differentiable sampler, training loop."""

from __future__ import annotations

from tailorgen.finetune.checkpoints import CheckpointStore
from tailorgen.finetune.loss import lte_loss
from tailorgen.finetune.prompt_pool import PromptPool
from tailorgen.finetune.trainer import MicroStep, TrainerConfig, train_text_encoder

__all__ = ["CheckpointStore", "MicroStep", "PromptPool", "TrainerConfig", "lte_loss", "train_text_encoder"]

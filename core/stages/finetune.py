"""Stage ``finetune``: train the generator's text encoder with L_TE so CLIP accepts what it draws.

Per optimizer step: draw a label set and one of its accepted prompts from ``prompts.jsonl``, sample
images with gradients (whole CFG sampler + VAE decode), score them against every unseen label with
the discriminator's differentiable path, take the grouping softmax and L_TE, and update only the
text encoder. Talks to plugins only through the DifferentiableGenerator / DifferentiableDiscriminator
capabilities. Writes ``finetune/text_encoder/``, ``finetune/checkpoints/step-N/``, ``finetune/log.jsonl``.

Under ``torchrun``/``accelerate launch`` every process draws its share of each step's label sets and
the gradients are averaged (``[finetune] data_parallel`` says whether N processes keep the number of
optimizer steps or the number of label sets); the main process writes every file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.context import RunContext
from tailorgen.errors import ConfigError, PluginError
from tailorgen.finetune.draw_plan import DrawPlan
from tailorgen.io import atomic_write_json, replace_dir
from tailorgen.registry.roles import DifferentiableDiscriminator, DifferentiableGenerator

__all__ = ["Settings", "plan", "run", "validate"]

logger = logging.getLogger(__name__)

#: settings that may change between a run and its resumption (everything else must match)
_RESUMABLE_CHANGES = {"steps", "checkpoint_every", "keep_checkpoints", "max_consecutive_nonfinite"}


class Settings(BaseModel):
    """``[finetune]``: docs/method.md step 5 defaults (COCO: 4000 steps; NUS-WIDE: 26000)."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(4000, ge=1, description="optimizer steps")
    lr: float = Field(7e-8, gt=0, description="AdamW learning rate")
    weight_decay: float = Field(1e-3, ge=0, description="AdamW weight decay")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient-norm clipping")
    images_per_step: int = Field(1, ge=1, description="images per micro-batch (all of one label set)")
    grad_accumulation: int = Field(1, ge=1, description="micro-batches (label sets) per optimizer step")
    sampling_steps: int = Field(30, ge=1, description="scheduler steps of the differentiable sampler")
    resolution: int = Field(560, ge=8, description="image height and width in pixels")
    guidance_scale: float = Field(7.5, ge=0, description="classifier-free guidance scale")
    negative_prompt: str | None = Field(None, description="default: the generator's own negative prompt")
    checkpoint_steps: bool = Field(True, description="activation checkpointing around each sampler step")
    checkpoint_blocks: bool = Field(False, description="also checkpoint inside the UNet/VAE (less memory)")
    mixed_precision: Literal["no", "bf16", "fp16"] = Field(
        "no", description="autocast on GPU (fp16 scales the loss)"
    )
    loss_clip: float = Field(0.05, ge=0, lt=1, description="L_TE margin on non-target scores")
    loss_gamma: float = Field(4.0, ge=0, description="L_TE focusing power on non-targets")
    log_clamp: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="clamp target scores here before the log (the reference: 1e-8); none: exact log space",
    )
    label_quota: int | None = Field(
        None,
        ge=1,
        description=(
            "label_sets = 'generation': a label leaves the draw pool after this many accepted L_TE images "
            "carry it (the filter's rule, extras and parents counted; the reference's NUS-WIDE syn_num: 20)"
        ),
    )
    label_sets: Literal["prompt-sets", "generation"] = Field(
        "prompt-sets",
        description=(
            "label set per draw: uniform over the sets with prompts, or the generation stage's draw "
            "(the reference; [generate] extra_draw applies), which rarely gives a single label"
        ),
    )
    checkpoint_every: int = Field(500, ge=1, description="save a resumable checkpoint every N steps")
    keep_checkpoints: int = Field(2, ge=1, description="how many recent checkpoints to keep")
    max_consecutive_nonfinite: int = Field(
        20, ge=1, description="abort after this many skipped steps in a row"
    )
    data_parallel: Literal["same-steps", "same-label-sets"] = Field(
        "same-steps",
        description="with N processes: keep `steps` optimizer steps of N x the label sets, or keep the "
        "label sets and take steps / N optimizer steps (N x faster)",
    )


def _check_capabilities(ctx: RunContext) -> None:
    for role, capability, what in (
        ("generator", DifferentiableGenerator, "sample with gradients into its text encoder"),
        ("discriminator", DifferentiableDiscriminator, "score image tensors differentiably"),
    ):
        spec = ctx.plugin_spec(role)
        if not issubclass(ctx.registry.get(role, spec.plugin).cls, capability):
            raise PluginError(
                f"the finetune stage needs a {role} that can {what}; {role} {spec.plugin!r} cannot",
                f"use a plugin implementing tailorgen.registry.roles.{capability.__name__}, or drop the finetune stage",
            )


def validate(ctx: RunContext) -> None:
    settings = ctx.settings("finetune", Settings)
    if settings.label_quota is not None and settings.label_sets != "generation":
        raise ConfigError(
            f"{ctx.config.where('finetune.label_quota')}: finetune.label_quota shrinks the generation draw's label pool",
            "set finetune.label_sets = 'generation', or remove finetune.label_quota",
        )
    _check_capabilities(ctx)
    _draw_plan(ctx.settings("finetune", Settings), _launch_size())


def _launch_size() -> int:
    """How many processes this launch has (torchrun and accelerate launch set ``WORLD_SIZE``)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _draw_plan(settings: Settings, world: int) -> DrawPlan:
    return DrawPlan(settings.steps, settings.grad_accumulation, world, settings.data_parallel)


def _fingerprint(ctx: RunContext, settings: Settings, world: int = 1) -> str:
    """What a resumed run must share with its checkpoints: seed, settings, which plugins and models.

    Only each plugin's name and ``model`` count, so options that do not change the optimisation
    (device, generation batch size...) may differ between a run and its resumption. The process
    count and ``data_parallel`` count only with several processes, so one-process fingerprints stay
    what they were before data parallelism existed.
    """
    plugins = {}
    for role in ("generator", "discriminator"):
        spec = ctx.plugin_spec(role)
        plugins[role] = [spec.plugin, spec.options.get("model")]
    parts: dict[str, Any] = {
        "seed": ctx.seed,
        "settings": settings.model_dump(exclude=_RESUMABLE_CHANGES | {"data_parallel"}),
        "plugins": plugins,
    }
    if world > 1:  # each step averages a different set of draws with another process count
        parts["processes"] = [world, settings.data_parallel]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def plan(ctx: RunContext) -> dict[str, Any]:
    settings = ctx.settings("finetune", Settings)
    world = _launch_size()
    draws = _draw_plan(settings, world)
    return {
        "processes": world,
        "steps": draws.optimizer_steps,
        "label_sets_per_step": draws.draws_per_step,
        "images": draws.label_sets * settings.images_per_step,
        "sampling_steps": settings.sampling_steps,
        "resolution": settings.resolution,
        "output": str(ctx.path("finetune", "text_encoder")),
    }


def _trainer_config(ctx: RunContext, settings: Settings, fingerprint: str) -> Any:
    from tailorgen.finetune import TrainerConfig

    return TrainerConfig(
        steps=settings.steps,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        max_grad_norm=settings.max_grad_norm,
        grad_accumulation=settings.grad_accumulation,
        max_consecutive_nonfinite=settings.max_consecutive_nonfinite,
        checkpoint_every=settings.checkpoint_every,
        mixed_precision=settings.mixed_precision,
        seed=ctx.seed,
        fingerprint=fingerprint,
    )


def _objective(ctx: RunContext, settings: Settings, generator: Any, discriminator: Any) -> Any:
    from tailorgen.finetune import PromptPool
    from tailorgen.finetune.objective import LTEObjective
    from tailorgen.stages.generate import Settings as GenerateSettings
    from tailorgen.synthetic.rule import AcceptanceRule

    negative = settings.negative_prompt
    if negative is None:  # the negative prompt the generator draws its data set with
        negative = getattr(generator.options, "negative_prompt", None) or ""
    return LTEObjective(
        generator,
        discriminator,
        pool=PromptPool.load(ctx.path("prompts.jsonl"), ctx.labels.unseen),
        # background texts of the filter compete here too: L_TE pushes images away from them
        label_names=AcceptanceRule.of(discriminator).columns(ctx.labels.unseen),
        settings=settings,
        negative_prompt=negative,
        seed_for=ctx.seed_for,
        extra_draw=ctx.settings("generate", GenerateSettings).extra_draw,
        rule=AcceptanceRule.of(discriminator),
        label_set=ctx.labels,
    )


def _finished(ctx: RunContext, settings: Settings, fingerprint: str) -> dict[str, Any] | None:
    """The summary of a completed fine-tuning with these settings, if the run directory holds one."""
    done = ctx.path("finetune", "summary.json")
    if not done.is_file() or not ctx.path("finetune", "text_encoder", "model.safetensors").is_file():
        return None
    summary = json.loads(done.read_text())
    # an encoder finished with the same settings counts whatever process count made it
    configured = summary.get("configured_steps", summary.get("steps"))
    if summary.get("fingerprint") == fingerprint and configured == settings.steps:
        return summary
    return None


def _announce(draws: DrawPlan, settings: Settings) -> None:
    if draws.world == 1:
        return
    logger.info(
        "[finetune] %d processes, data_parallel = %r: %d optimizer steps of %d label sets each "
        "(%d label sets in all; one process: %d steps of %d)",
        draws.world,
        settings.data_parallel,
        draws.optimizer_steps,
        draws.draws_per_step,
        draws.label_sets,
        settings.steps,
        settings.grad_accumulation,
    )


def run(ctx: RunContext) -> dict[str, Any]:
    from tailorgen.finetune import CheckpointStore, train_text_encoder
    from tailorgen.runtime.distributed import processes

    settings = ctx.settings("finetune", Settings)
    _check_capabilities(ctx)
    procs = processes()
    draws = _draw_plan(settings, procs.world)
    fingerprint = _fingerprint(ctx, settings)
    root = ctx.path("finetune")
    final = root / "text_encoder"
    previous = procs.broadcast(_finished(ctx, settings, fingerprint) if procs.is_main else None)
    if previous is not None:
        logger.info(f"[finetune] {final} is complete ({settings.steps} steps); nothing to do")
        return {**previous, "already_done": True}

    if procs.is_main:
        _announce(draws, settings)
    generator, discriminator = ctx.create("generator"), ctx.create("discriminator")
    objective = _objective(ctx, settings, generator, discriminator)
    summary = train_text_encoder(
        generator.trainable_text_encoder(),
        objective,
        _trainer_config(ctx, settings, _fingerprint(ctx, settings, procs.world)),
        store=CheckpointStore(root / "checkpoints", keep=settings.keep_checkpoints),
        log=root / "log.jsonl",
        save_encoder=generator.save_text_encoder,
        plan=draws,
        procs=procs,
    )
    summary = {
        **summary,
        "configured_steps": settings.steps,
        "data_parallel": settings.data_parallel,
        "text_encoder": str(final),
        "fingerprint": fingerprint,
    }
    if procs.is_main:
        partial = root / ".text_encoder.partial"
        shutil.rmtree(partial, ignore_errors=True)
        generator.save_text_encoder(partial)
        replace_dir(partial, final)  # and fsync the folder: the rename survives a power cut
        atomic_write_json(root / "summary.json", summary)
        logger.info(f"[finetune] fine-tuned text encoder written to {final}")
    procs.barrier()  # later stages on every process read finetune/text_encoder/
    return summary

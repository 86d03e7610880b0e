"""Stage ``generate``: prompts -> images -> CLIP filter, in rounds, into ``synthetic/`` (imagefolder).

Resumable (a killed run, SIGKILL included, reruns to the same files) and distributed (the same
command under ``torchrun --nproc_per_node N`` splits every round's batches across processes).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.config import PluginSpec
from tailorgen.context import RunContext
from tailorgen.runtime.distributed import processes
from tailorgen.synthetic.finish import summarize, write_outputs
from tailorgen.synthetic.plan import DrawRule, PromptPool, RoundBudget, Tally, plan_round
from tailorgen.synthetic.rounds import Drawer, run_rounds
from tailorgen.synthetic.rule import AcceptanceRule
from tailorgen.synthetic.specs import FINETUNED_TEXT_ENCODER, discriminator_spec, fingerprint, generator_spec
from tailorgen.synthetic.store import ImageStore

__all__ = ["Settings", "plan", "run", "validate"]

logger = logging.getLogger(__name__)


class Settings(BaseModel):
    """The ``[generate]`` section (models are configured in ``[generator]`` and ``[discriminator]``)."""

    model_config = ConfigDict(extra="forbid")

    quota: int = Field(
        200, ge=1, description="Accepted images per unseen label: a label leaves the pool when it has them."
    )
    max_attempts_per_label: int | None = Field(
        None,
        ge=1,
        description="Attempt budget per label (images whose label set holds it); default 10 x quota.",
    )
    expected_acceptance: float = Field(0.5, gt=0, le=1, description="Acceptance guess that sizes round 0.")
    min_acceptance: float = Field(
        0.05, gt=0, le=1, description="Floor of the measured rate that sizes later rounds."
    )
    max_rounds: int | None = Field(
        None, ge=1, description="Stop after this many rounds even if labels are short (default: no limit)."
    )
    batch_size: int | None = Field(
        None, ge=1, description="Images per batch (default: the generator's batch_size)."
    )
    images_per_round: int = Field(
        64,
        ge=1,
        description=(
            "Most images a round plans. Labels leave the pool between rounds, so smaller rounds mean less "
            "surplus; under torchrun use a multiple of processes x batch_size."
        ),
    )
    label_sets: Literal["independent", "per-label"] = Field(
        "independent",
        description=(
            "independent: draw k labels from those short of quota, drop duplicates (the reference); "
            "per-label: a short label, then any label set holding it (more single-label images)."
        ),
    )
    image_format: Literal["png", "jpeg"] = Field(
        "png",
        description=(
            "Synthetic image files: png (lossless; the classifier trains on what the filter scored) or jpeg "
            "(the reference, at jpeg_quality; about a tenth of the disk at 768 px)."
        ),
    )
    jpeg_quality: int = Field(
        75, ge=1, le=95, description="image_format = 'jpeg': PIL quality (75: the reference)."
    )
    extra_draw: bool = Field(
        True,
        description=(
            "independent draws: a set left short by a duplicate gets one more draw (the reference's COCO "
            "loop); false: no extra draw, so singles are about 1/n of the sets (its NUS-WIDE loop)."
        ),
    )
    keep_rejected: bool = Field(
        False, description="Also keep images the filter rejected (listed with accepted = false)."
    )
    use_finetuned_text_encoder: bool = Field(
        True, description=f"Draw with RUN/{FINETUNED_TEXT_ENCODER} when the run has one."
    )
    contact_sheet: bool = Field(True, description="Write RUN/contact_sheet.png (see `tailorgen show`).")

    def budget(self) -> RoundBudget:
        return RoundBudget(
            quota=self.quota,
            max_attempts=self.max_attempts_per_label or 10 * self.quota,
            expected_acceptance=self.expected_acceptance,
            min_acceptance=self.min_acceptance,
        )


def validate(ctx: RunContext) -> None:
    settings: Settings = ctx.settings("generate", Settings)
    ctx.validated_options(
        "generator", generator_spec(ctx, settings.use_finetuned_text_encoder)[0], "generator"
    )
    ctx.validated_options("discriminator", discriminator_spec(ctx), "discriminator")


def plan(ctx: RunContext) -> dict[str, Any]:
    """What the stage would do (reads prompts.jsonl if present; loads no model)."""
    settings: Settings = ctx.settings("generate", Settings)
    spec, encoder = generator_spec(ctx, settings.use_finetuned_text_encoder)
    out: dict[str, Any] = {
        "quota": settings.quota,
        "attempt_budget_per_label": settings.budget().max_attempts,
        "images_per_round": settings.images_per_round,
        "label_set_draw": settings.label_sets,
        "generator": spec.plugin,
        "discriminator": ctx.plugin_spec("discriminator").plugin,
        "text_encoder": str(encoder) if encoder else _planned_encoder(ctx, spec, settings),
        "labels": ctx.labels.unseen,
    }
    prompts = ctx.path("prompts.jsonl")
    if prompts.exists():
        pool = PromptPool.load(prompts, ctx.labels)
        out["label_sets"] = len(pool.sets)
        out["labels_without_prompts"] = [n for n in ctx.labels.unseen if not pool.sets_with(n)]
        first = plan_round(
            pool,
            ctx.labels.unseen,
            Tally(),
            settings.budget(),
            draw=DrawRule(settings.label_sets, ctx.labels, settings.extra_draw),
            round_no=0,
            first_id=0,
            max_items=settings.images_per_round,
            seed_for=ctx.seed_for,
        )
        out["round_0_images"] = len(first)
    return out


def _planned_encoder(ctx: RunContext, spec: PluginSpec, settings: Settings) -> str:
    """Before the finetune stage of this run has written its text encoder, say generation will use it."""
    loads_encoders = "text_encoder" in ctx.registry.get("generator", spec.plugin).cls.Options.model_fields
    if settings.use_finetuned_text_encoder and "finetune" in ctx.stages and loads_encoders:
        return f"{ctx.path(FINETUNED_TEXT_ENCODER)} (written by this run's finetune stage)"
    return "stock"


def _columns(ctx: RunContext, pool: PromptPool) -> list[str]:
    """Score columns: every unseen label, plus any other label a prompt's label set names."""
    used = pool.labels()
    return [n for n in ctx.labels.names if n in ctx.labels.unseen or n in used]


def run(ctx: RunContext) -> dict[str, Any]:
    settings: Settings = ctx.settings("generate", Settings)
    procs = processes()
    pool = PromptPool.load(ctx.path("prompts.jsonl"), ctx.labels)
    gen_spec, encoder = generator_spec(ctx, settings.use_finetuned_text_encoder)
    disc_spec = discriminator_spec(ctx)
    generator = ctx.create("generator", spec=gen_spec)
    discriminator = ctx.create("discriminator", spec=disc_spec)
    rule = AcceptanceRule.of(discriminator)
    root = ctx.path("synthetic")
    store = ImageStore(
        root,
        procs.rank,
        fingerprint(generator, discriminator, encoder),
        settings.keep_rejected,
        image_format=settings.image_format,
        jpeg_quality=settings.jpeg_quality,
    )
    store.prepare(procs.is_main)
    procs.barrier()
    targets = ctx.labels.unseen
    names = _columns(ctx, pool)
    items, tally, rounds = run_rounds(
        Drawer(generator, discriminator, rule, ctx.labels, names),
        store,
        pool,
        targets,
        settings.budget(),
        draw=DrawRule(settings.label_sets, ctx.labels, settings.extra_draw),
        max_rounds=settings.max_rounds,
        batch_size=settings.batch_size or getattr(generator.options, "batch_size", 8),
        images_per_round=settings.images_per_round,
        seed_for=ctx.seed_for,
        procs=procs,
    )
    outcome = summarize(
        items,
        tally,
        rounds,
        store,
        pool,
        targets=targets,
        budget=settings.budget(),
        round_limit=rounds == settings.max_rounds,
    )
    summary = {**outcome.summary, "text_encoder": str(encoder) if encoder else "stock"}
    if procs.is_main:
        plugins = (generator, discriminator, rule)
        write_outputs(ctx, outcome, store, plugins, encoder=encoder, contact_sheet=settings.contact_sheet)
        for row in outcome.report:
            if row["status"] != "quota met":
                logger.info(
                    f"[generate] {row['label']}: {row['accepted']}/{row['quota']} accepted ({row['status']})"
                )
    procs.barrier()
    return summary

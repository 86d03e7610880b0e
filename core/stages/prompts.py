"""Stage ``prompts``: label sets -> validated prompts (``prompts.jsonl``) and a diversity report."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tailorgen.context import RunContext
from tailorgen.data.label_sampling import LabelSetSampler, set_id
from tailorgen.errors import ConfigError
from tailorgen.io import atomic_write_json
from tailorgen.prompting.collect import collect_sets
from tailorgen.prompting.postprocess import PromptValidator
from tailorgen.prompting.report import format_table, prompt_report
from tailorgen.prompting.store import PromptStore
from tailorgen.runtime.progress import progress

__all__ = ["Settings", "label_sets", "plan", "run", "validate"]

logger = logging.getLogger(__name__)

LabelSets = list[tuple[str, tuple[str, ...]]]


class Settings(BaseModel):
    """The ``[prompts]`` section (the writer itself is configured in ``[prompt_writer]``)."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(2, ge=1, description="Largest label set (a duplicate draw gives a smaller one).")
    prompts_per_set: int = Field(10, ge=1, description="Valid prompts wanted per label set.")
    exhaustive: bool = Field(
        True, description="Every allowed set of 1..k unseen labels (the paper's setting)."
    )
    n_sets: int | None = Field(
        None, ge=1, description="Budget: the first n sets (exhaustive) or n drawn sets."
    )
    sets: list[list[str]] | None = Field(
        None, description="Explicit label sets; overrides exhaustive/n_sets."
    )
    max_retries: int = Field(2, ge=0, description="Re-asks, each with a new seed, for sets left short.")
    fill_from_template: bool = Field(True, description="Fill sets still short with the template writer.")
    min_words: int = Field(10, ge=1)
    max_words: int = Field(60, ge=1)
    near_duplicate: float = Field(
        0.7, gt=0, le=1, description="Word-bigram Jaccard at which two are duplicates."
    )
    sets_per_chunk: int = Field(32, ge=1, description="Sets asked together and saved together (resume unit).")
    embedder: str | None = Field(
        None, description="Sentence-embedding model for the embedding-diversity figure."
    )
    embedder_max_texts: int = Field(2000, ge=2, description="Prompts (seeded sample) the embedder sees.")

    @model_validator(mode="after")
    def _bounds(self) -> Settings:
        if self.max_words < self.min_words:
            raise ValueError(f"max_words ({self.max_words}) is below min_words ({self.min_words})")
        return self


def label_sets(ctx: RunContext, settings: Settings) -> LabelSets:
    """The label sets this config asks for, as (set id, labels), in a stable order."""
    sampler = LabelSetSampler(ctx.labels, settings.k, seed=ctx.seed_for("prompts", "sets"))
    if settings.sets is not None:
        combos = []
        for raw in settings.sets:
            unknown = [n for n in raw if n not in ctx.labels.names]
            if unknown or not raw:
                raise ConfigError(
                    f"prompts.sets: {raw!r} names unknown label(s) {unknown}"
                    if unknown
                    else "prompts.sets: empty set",
                    f"label names come from the label set {ctx.labels.name!r} (`tailorgen labels`)",
                )
            combo = sampler.canonical(raw)
            if not sampler.allowed(combo):
                raise ConfigError(f"prompts.sets: {raw!r} pairs confusable labels", "split it into two sets")
            combos.append(combo)
        combos = list(dict.fromkeys(combos))
    elif settings.exhaustive:
        combos = sampler.exhaustive()[: settings.n_sets]
    elif settings.n_sets is None:
        raise ConfigError(
            "prompts.n_sets is required when prompts.exhaustive = false", "set prompts.n_sets = 100"
        )
    else:
        combos = sampler.sample_distinct(settings.n_sets)
    return [(set_id(c), c) for c in combos]


def _fingerprint(ctx: RunContext, settings: Settings) -> str:
    """What shapes the prompts of a set (not which sets, not the device): a resume must match it."""
    spec = ctx.plugin_spec("prompt_writer")
    options = ctx.validated_options("prompt_writer", spec, "prompt_writer").model_dump(mode="json")
    cls = ctx.registry.get("prompt_writer", spec.plugin).cls
    for key in getattr(cls, "runtime_options", ()):
        options.pop(key, None)
    shaping = settings.model_dump(
        mode="json",
        include={
            "prompts_per_set",
            "max_retries",
            "fill_from_template",
            "min_words",
            "max_words",
            "near_duplicate",
        },
    )
    blob = json.dumps([ctx.seed, spec.plugin, options, shaping], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def validate(ctx: RunContext) -> None:
    settings = ctx.settings("prompts", Settings)
    label_sets(ctx, settings)
    _fingerprint(ctx, settings)  # validates [prompt_writer] options
    if settings.fill_from_template:
        ctx.registry.get("prompt_writer", "template")


def plan(ctx: RunContext) -> dict[str, Any]:
    settings = ctx.settings("prompts", Settings)
    sets = label_sets(ctx, settings)
    spec = ctx.plugin_spec("prompt_writer")
    options = ctx.validated_options("prompt_writer", spec, "prompt_writer")
    return {
        "writer": spec.plugin,
        "model": getattr(options, "model", None),
        "label_sets": len(sets),
        "prompts_per_set": settings.prompts_per_set,
        "prompts": len(sets) * settings.prompts_per_set,
        "examples": [list(labels) for _, labels in sets[:3]],
        "embedder": settings.embedder,
        "output": str(ctx.path("prompts.jsonl")),
    }


def _embedding_diversity(ctx: RunContext, settings: Settings) -> Any:
    if not settings.embedder:
        return None
    from tailorgen.prompting.embedding import embed_texts, mean_pairwise_cosine_distance

    seen: dict[tuple[str, ...], float] = {}  # one writer's figure is also the overall one: embed once

    def measure(texts: list[str]) -> float:
        if len(texts) > settings.embedder_max_texts:
            texts = random.Random(ctx.seed_for("prompts", "embed")).sample(texts, settings.embedder_max_texts)
        key = tuple(texts)
        if key not in seen:
            seen[key] = mean_pairwise_cosine_distance(embed_texts(texts, settings.embedder))
        return seen[key]

    return measure


def run(ctx: RunContext) -> dict[str, Any]:
    settings = ctx.settings("prompts", Settings)
    sets = label_sets(ctx, settings)
    store = PromptStore(ctx.path("prompts.jsonl"), _fingerprint(ctx, settings))
    if store.dropped:
        logger.info(
            f"[prompts] dropped {store.dropped} records of label sets an interrupted run left unfinished"
        )
    todo = [(key, labels) for key, labels in sets if key not in store]
    if len(todo) < len(sets):
        logger.info(
            f"[prompts] {len(sets) - len(todo)} of {len(sets)} label sets already written; {len(todo)} to go"
        )
    validator = PromptValidator(ctx.labels, settings.min_words, settings.max_words, settings.near_duplicate)
    if todo:
        spec = ctx.plugin_spec("prompt_writer")
        writer = ctx.create("prompt_writer")
        fill = ctx.registry.create("prompt_writer", "template") if settings.fill_from_template else None
        with progress(total=len(sets), initial=len(sets) - len(todo), desc="prompts", unit="set") as bar:
            for start in range(0, len(todo), settings.sets_per_chunk):
                chunk = todo[start : start + settings.sets_per_chunk]
                states = collect_sets(
                    chunk,
                    writer,
                    spec.plugin,
                    validator,
                    count=settings.prompts_per_set,
                    max_retries=settings.max_retries,
                    seed_for=lambda *parts: ctx.seed_for("prompts", *parts),
                    fill=fill,
                )
                store.add({s.set_id: s.records for s in states if s.records})
                bar.update(len(chunk))
    records = store.finalize([key for key, _ in sets])
    report = prompt_report(
        records,
        validator.matcher,
        [key for key, _ in sets],
        settings.prompts_per_set,
        _embedding_diversity(ctx, settings),
    )
    atomic_write_json(ctx.path("prompts_report.json"), report)
    logger.info(format_table(report))
    return {
        "label_sets": len(sets),
        "accepted": report["all"]["accepted"],
        "short_sets": len(report["short_sets"]),
        "distinct_2": report["all"]["distinct_2"],
    }

"""Stage ``evaluate``: ZSL and GZSL mAP / F1@K of the trained classifier and of baselines.

Scores every used label of the label set on ``[evaluate] dataset``'s ``split`` (default ``test``),
then applies the protocol (:mod:`tailorgen.evaluation.protocol`). Baseline ``clip-zeroshot`` is plain CLIP with
prompt templates; ``clip-regions`` scores the same prompts with the classifier's region head (no
training); both go through the same metrics code. Writes ``eval.json``, ``eval/<model>.npy`` (images
x used labels; reused when nothing changed) and ``eval/targets.npy``, and prints a table on stderr.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.context import RunContext
from tailorgen.errors import ConfigError, TailorgenError
from tailorgen.evaluation.zeroshot import DEFAULT_TEMPLATES

__all__ = ["Settings", "plan", "run", "validate"]

logger = logging.getLogger(__name__)

#: the scoring job of a run's best-GZSL classifier (``classifier-gzsl/``), merged into the classifier's row
GZSL_JOB = "classifier-gzsl"


class Settings(BaseModel):
    """``[evaluate]``: what to evaluate, on which data, under which protocol."""

    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(None, description="key of the [datasets.<key>] section to evaluate on")
    split: str = Field("test", description="split of that data set (never the train stage's val split)")
    classifier: str | None = Field(
        "classifier",
        description="classifier folder (relative to the run dir) or Hub id; null: baselines only",
    )
    baselines: list[Literal["clip-zeroshot", "clip-regions"]] = Field(
        default_factory=lambda: ["clip-zeroshot"],
        description=(
            "untrained baselines evaluated the same way: clip-zeroshot (global embedding + prompt "
            "templates), clip-regions (the classifier's region head + the same prompts)"
        ),
    )
    clip_model: str | None = Field(
        None,
        description="clip-zeroshot model (open_clip name, hf-hub:, local-dir:); default: the classifier's",
    )
    clip_pretrained: str | None = Field(
        "openai", description="pretrained tag when clip_model is a plain name"
    )
    templates: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TEMPLATES), description="prompt templates"
    )
    protocols: list[Literal["zsl", "gzsl"]] = Field(default_factory=lambda: ["zsl", "gzsl"], min_length=1)
    ks: list[int] = Field(default_factory=lambda: [3, 5], min_length=1, description="K of F1@K, P@K, R@K")
    batch_size: int = Field(64, ge=1, description="images per forward pass")
    num_workers: int = Field(2, ge=0, description="data loader worker processes")
    device: str | None = Field(None, description="auto, cpu, cuda, ...; default: [run] device")


def _settings(ctx: RunContext) -> Settings:
    settings: Settings = ctx.settings("evaluate", Settings)
    where = ctx.config.where("evaluate")
    if not settings.dataset:
        have = ", ".join(ctx.config.datasets) or "none configured"
        raise ConfigError(
            f"{where}: evaluate.dataset is not set", f"name a [datasets.<key>] section ({have})"
        )
    if settings.dataset not in ctx.config.datasets:
        have = ", ".join(ctx.config.datasets) or "none"
        raise ConfigError(
            f"{where}: evaluate.dataset = {settings.dataset!r} has no [datasets.{settings.dataset}]",
            f"data sets configured: {have}",
        )
    if any(k < 1 for k in settings.ks):
        raise ConfigError(f"{where}: evaluate.ks must be at least 1 (got {settings.ks})")
    if not settings.classifier and not settings.baselines:
        raise ConfigError(
            f"{where}: evaluate has nothing to evaluate", "set evaluate.classifier or baselines"
        )
    if "zsl" in settings.protocols and not ctx.labels.unseen:
        raise ConfigError(
            f"{where}: ZSL needs unseen labels; the label set has none", 'set protocols = ["gzsl"]'
        )
    return settings


def validate(ctx: RunContext) -> None:
    settings = _settings(ctx)
    ctx.validated_options("dataset", ctx.config.datasets[settings.dataset], f"datasets.{settings.dataset}")


def _classifier_source(ctx: RunContext, settings: Settings) -> str | None:
    if not settings.classifier:
        return None
    local = ctx.path(settings.classifier)
    return str(local) if local.exists() or settings.classifier.count("/") != 1 else settings.classifier


def _clip_backbone(ctx: RunContext, settings: Settings) -> tuple[str, str | None]:
    """clip_model, else the classifier's backbone (from its config.json), else [train] backbone."""
    from tailorgen.evaluation.zeroshot import split_backbone

    if settings.clip_model:
        return settings.clip_model, settings.clip_pretrained
    source = _classifier_source(ctx, settings)
    if source and (config := Path(source) / "config.json").is_file():
        backbone = json.loads(config.read_text()).get("backbone")
        if backbone:
            return split_backbone(backbone)
    train = ctx.config.train
    return str(train.get("backbone", "RN50")), train.get("pretrained", "openai")


def plan(ctx: RunContext) -> dict[str, Any]:
    settings = _settings(ctx)
    models = ([f"classifier ({_classifier_source(ctx, settings)})"] if settings.classifier else []) + [
        f"{name} ({':'.join(filter(None, _clip_backbone(ctx, settings)))})" for name in settings.baselines
    ]
    return {
        "data": f"{settings.dataset}:{settings.split}",
        "models": models,
        "protocols": settings.protocols,
        "labels": {"zsl": len(ctx.labels.unseen), "gzsl": len(ctx.labels.used)},
        "ks": settings.ks,
        "output": str(ctx.path("eval.json")),
    }


def run(ctx: RunContext) -> dict[str, Any]:
    from tailorgen.evaluation.protocol import evaluate_settings
    from tailorgen.evaluation.scoring import cached_scores, fingerprint, save_array
    from tailorgen.evaluation.table import format_table
    from tailorgen.io import atomic_write_json
    from tailorgen.runtime.devices import resolve_device

    settings = _settings(ctx)
    labels, names = ctx.labels, ctx.labels.used
    data = ctx.create("dataset", f"datasets.{settings.dataset}", ctx.config.datasets[settings.dataset])
    dataset = data.load(settings.split, names, labels)
    if len(dataset) == 0:
        raise TailorgenError(f"data set {settings.dataset!r} split {settings.split!r} has no images")
    device = resolve_device(settings.device or ctx.config.run.device)
    targets = dataset.targets.numpy() > 0
    save_array(ctx.path("eval", "targets.npy"), targets)  # for `tailorgen score-metrics` on eval/*.npy
    ks = tuple(settings.ks)
    data_key = (ctx.config.datasets[settings.dataset].model_dump(), settings.split, names, len(dataset))
    results, sources = {}, {}
    for job in _jobs(ctx, settings, dataset, names, device):
        key = fingerprint(data_key, job.source, job.identity)
        scores = cached_scores(ctx.path("eval"), job.name, key, job.compute)
        protocols = tuple(settings.protocols)
        results[job.name] = evaluate_settings(
            scores, targets, labels, label_names=names, settings=protocols, ks=ks
        )
        sources[job.name] = job.source
    if GZSL_JOB in results:  # the GZSL row of the classifier comes from its best-GZSL checkpoint
        gzsl_results, gzsl_source = results.pop(GZSL_JOB), sources.pop(GZSL_JOB)
        if "gzsl" in results["classifier"]:
            results["classifier"]["gzsl"] = gzsl_results["gzsl"]
            sources["classifier"] = f"{sources['classifier']} (GZSL: {gzsl_source})"
    report = {
        "dataset": settings.dataset,
        "split": settings.split,
        "label_set": labels.name,
        "images": len(dataset),
        "skipped_images": len(dataset.skipped),
        "ks": list(ks),
        "models": {name: {"source": sources[name], **by_setting} for name, by_setting in results.items()},
    }
    atomic_write_json(ctx.path("eval.json"), report)
    if (ctx.path("classifier", "config.json")).is_file():  # the run's card shows this evaluation
        from tailorgen.classifier.hub_card import refresh_run_card

        refresh_run_card(ctx.path("classifier"), ctx.config.run.name, ctx.run_dir)
    logger.info(
        f"evaluation on {settings.dataset}:{settings.split} ({len(dataset)} images)\n"
        + format_table(results, ks)
    )
    return {
        "images": len(dataset),
        "models": {m: {p: round(r["mAP"], 2) for p, r in v.items()} for m, v in results.items()},
    }


def _jobs(ctx: RunContext, settings: Settings, dataset: Any, names: list[str], device: Any) -> list[Any]:
    """The models to score (nothing is loaded until a job computes)."""
    from tailorgen.evaluation.models import classifier_job, clip_zeroshot_job

    loader = {"batch_size": settings.batch_size, "num_workers": settings.num_workers, "device": device}
    jobs = (
        [classifier_job(source, dataset, names, **loader)]
        if (source := _classifier_source(ctx, settings))
        else []
    )
    if source and (gzsl := Path(f"{source}-gzsl")).is_dir():  # train.select_checkpoints = "zsl-and-gzsl"
        jobs.append(dataclasses.replace(classifier_job(str(gzsl), dataset, names, **loader), name=GZSL_JOB))
    templates = tuple(settings.templates)
    jobs += [
        clip_zeroshot_job(_clip_backbone(ctx, settings), templates, dataset, names, name, **loader)
        for name in dict.fromkeys(settings.baselines)  # each once
    ]
    return jobs

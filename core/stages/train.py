"""Stage ``train``: the DualCoOp-style classifier on synthetic (and optionally real) images.

Modes: ``alternate`` (the paper: per epoch, one pass over real images of the seen labels with the
loss on seen labels, then one over the synthetic images with the loss on unseen labels),
``proxyless`` (synthetic only) and ``real`` (real seen-label images only: DualCoOp's zero-shot
baseline). Model selection uses a validation split that is not the test split; ``selection =
"zero-shot"`` also uses no unseen-label annotation of a real image (``tailorgen.classifier.selection``).
Writes ``train/checkpoints/``, ``train/log.jsonl`` and ``classifier/`` (``Classifier.save_pretrained``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat
from tailorgen.config import PluginSpec
from tailorgen.context import RunContext
from tailorgen.errors import ConfigError, TailorgenError
from tailorgen.io import replace_dir

__all__ = ["Settings", "plan", "requires", "run", "validate"]

logger = logging.getLogger(__name__)

#: settings that may change between a run and its resumption
_RESUMABLE_CHANGES = {"num_workers", "keep_checkpoints", "val_batch_size", "text_checkpointing"}


class Settings(BaseModel):
    """``[train]``: docs/method.md step 6 defaults (COCO: batch 32, lr_context 0.002; NUS-WIDE: 96, 0.0005)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["alternate", "proxyless", "real"] = Field(
        "alternate",
        description=(
            "alternate real seen-label and synthetic unseen-label passes, synthetic only (proxyless), "
            "or real seen-label images only (DualCoOp's zero-shot baseline: no synthetic image)"
        ),
    )
    backbone: str = Field(
        "RN50", description="open_clip ModifiedResNet CLIP: name, hf-hub:<repo> or local-dir:<path>"
    )
    pretrained: str | None = Field(
        "openai", description="pretrained tag for a named backbone (ignored by schemas)"
    )
    n_ctx: int = Field(64, ge=1, description="learned context tokens per prompt (positive and negative)")
    logit_scale: PositiveFloat | Literal["auto"] = Field(
        20.0,
        description=(
            "region score scale s = logit_scale * cos (also the region-softmax temperature); "
            "auto: the backbone's learned logit scale / 5 (20 for a real CLIP)"
        ),
    )
    aggregation_scale: PositiveFloat | Literal["auto"] = Field(
        5.0,
        description=(
            "l = aggregation_scale * sum_r w_r s_r. The paper's 20 x 5 = 100 is a real CLIP's learned scale; "
            "auto: learned scale / logit_scale (5 for a real CLIP), so l is on the CLIP's own scale"
        ),
    )
    epochs: int = Field(50, ge=1, description="training epochs (the cosine schedule spans them)")
    warmup_epochs: int = Field(
        0, ge=0, description="epochs at the constant warmup_lr before the cosine schedule (paper: 1)"
    )
    warmup_lr: float = Field(1e-5, gt=0, description="learning rate of every parameter group during warm-up")
    schedule_step: Literal["epoch", "pass"] = Field(
        "epoch",
        description=(
            "when warm-up and cosine step: once per epoch, or after every pass (the reference: with two "
            "passes per epoch the warm-up covers epoch 1's real pass and the cosine runs at twice the pace)"
        ),
    )
    batch_size: int = Field(32, ge=1, description="images per step and process")
    lr_context: float = Field(0.002, gt=0, description="SGD learning rate of the prompt contexts")
    lr_fusion: float = Field(1e-4, gt=0, description="SGD learning rate of the fusion head")
    momentum: float = Field(0.9, ge=0, description="SGD momentum")
    weight_decay: float = Field(5e-4, ge=0, description="SGD weight decay")
    randaugment: bool = Field(True, description="RandAugment on training images")
    cutout: float = Field(0.5, ge=0, le=1, description="probability of Cutout (random erasing) per image")
    augment: Literal["clean", "reference"] = Field(
        "clean",
        description="clean: randaugment and cutout as set; reference: the authors' Cutout on every image "
        "(half side, random colour) then their RandAugment (2 of 15 ops, p 0.5, magnitude 1-9)",
    )
    interpolation: Literal["bicubic", "bilinear"] = Field(
        "bicubic", description="resize filter, saved with the classifier (the reference: bilinear)"
    )
    resize: Literal["whole", "crop"] = Field(
        "whole",
        description="image geometry, saved with the classifier: whole = squash the whole image to S x S "
        "(DualCoOp); crop = resize the short side and centre-crop (CLIP's eval transform)",
    )
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = Field(
        "no",
        description=(
            "no: fp32 (the default, as the reference: bf16 training has no measured parity yet); "
            "auto: bf16 (or fp16) on GPU, none on CPU"
        ),
    )
    num_workers: int = Field(4, ge=0, description="data loader worker processes")
    real_dataset: str | None = Field(None, description="[datasets.<key>] with real images of the seen labels")
    real_split: str = Field("train", description="split of real_dataset to train on")
    seen_labels_per_batch: int | None = Field(
        None,
        ge=1,
        description="seen labels scored per real batch, a fresh seeded random subset each batch (default: all)",
    )
    synthetic_dataset: str | None = Field(
        None, description="[datasets.<key>] of synthetic images (default: this run's synthetic/ folder)"
    )
    synthetic_split: str = Field("train", description="split of the synthetic data set")
    val_dataset: str | None = Field(
        None, description="[datasets.<key>] for model selection (default: real_dataset)"
    )
    val_split: str = Field("val", description="validation split (never the evaluation's test split)")
    val_labels: Literal["unseen", "all", "seen"] = Field(
        "unseen", description="selection = 'val': labels whose mAP on the validation split selects the model"
    )
    selection: Literal["val", "zero-shot"] = Field(
        "val",
        description=(
            "val: val_labels' mAP on the validation split; zero-shot: no unseen-label annotation of a real "
            "image is used, the mean of the seen labels' mAP on the validation split and the unseen "
            "labels' mAP on held-out synthetic images (labelled by the generator)"
        ),
    )
    selection_metric: Literal["map", "f1@3"] = Field(
        "map", description="the validation score that picks the epoch: mAP, or F1@3 (the reference)"
    )
    select_checkpoints: Literal["one", "zsl-and-gzsl"] = Field(
        "one",
        description=(
            "one: a single best epoch (val_labels); zsl-and-gzsl: as the reference, the best ZSL epoch "
            "(unseen labels) becomes classifier/ and the best GZSL epoch (all labels) classifier-gzsl/, "
            "which evaluate uses for GZSL"
        ),
    )
    synthetic_val_fraction: float = Field(
        0.2, gt=0, lt=1, description="selection = 'zero-shot': share of the synthetic images held out"
    )
    val_batch_size: int = Field(64, ge=1, description="images per validation batch")
    gamma_neg: float = Field(2.0, ge=0, description="asymmetric loss focusing on negatives")
    gamma_pos: float = Field(1.0, ge=0, description="asymmetric loss focusing on positives")
    loss_clip: float = Field(0.05, ge=0, lt=1, description="asymmetric loss probability margin on negatives")
    loss_weight: float = Field(0.01, gt=0, description="loss multiplier")
    loss_eps: float = Field(
        1e-8,
        gt=0,
        lt=1,
        description="asymmetric loss: probabilities clamped here before log (the reference: 1e-6)",
    )
    text_checkpointing: bool = Field(
        True,
        description="recompute the text tower in backward (same gradients; NUS-WIDE size: 9 instead of 32 GiB)",
    )
    keep_checkpoints: int = Field(1, ge=1, description="epoch checkpoints to keep")


def _fusion_spec(ctx: RunContext) -> PluginSpec:
    return ctx.config.fusion_head or PluginSpec(plugin="global-branch")


def _val_key(settings: Settings) -> str | None:
    return settings.val_dataset or settings.real_dataset


def requires(ctx: RunContext) -> tuple[str, ...]:
    """This run's ``generate`` output, unless ``synthetic_dataset`` names synthetic images elsewhere."""
    settings: Settings = ctx.settings("train", Settings)
    return () if settings.synthetic_dataset or settings.mode == "real" else ("generate",)


def validate(ctx: RunContext) -> None:
    from tailorgen.classifier.run_data import dataset_spec

    settings: Settings = ctx.settings("train", Settings)
    if settings.mode in ("alternate", "real") and not settings.real_dataset:
        raise ConfigError(
            f"{ctx.config.where('train.mode')}: train.mode = {settings.mode!r} needs train.real_dataset",
            'name a [datasets.<key>] with real seen-label images, or set train.mode = "proxyless"',
        )
    if settings.selection == "zero-shot" and "val_labels" in settings.model_fields_set:
        raise ConfigError(
            f"{ctx.config.where('train.val_labels')}: train.val_labels does not apply with train.selection = 'zero-shot'",
            "remove train.val_labels: zero-shot selection scores the seen labels on the validation split",
        )
    if settings.select_checkpoints == "zsl-and-gzsl" and settings.selection == "zero-shot":
        raise ConfigError(
            f"{ctx.config.where('train.select_checkpoints')}: train.select_checkpoints = 'zsl-and-gzsl' selects with the unseen "
            "labels of real images, which train.selection = 'zero-shot' excludes",
            "use select_checkpoints = 'one' with zero-shot selection, or selection = 'val'",
        )
    for what in ("real_dataset", "synthetic_dataset", "val_dataset"):
        if (key := getattr(settings, what)) is not None:
            ctx.validated_options("dataset", dataset_spec(ctx, key, what), f"datasets.{key}")
    evaluation = ctx.config.evaluate
    if _val_key(settings) is not None and (_val_key(settings), settings.val_split) == (
        evaluation.get("dataset"),
        evaluation.get("split", "test"),
    ):
        raise ConfigError(
            f"{ctx.config.where('train.val_split')}: train.val_split {settings.val_split!r} is the evaluation's test split",
            "select the model on another split (e.g. val) so the test score stays unbiased",
        )
    ctx.validated_options("fusion_head", _fusion_spec(ctx), "fusion_head")


def plan(ctx: RunContext) -> dict[str, Any]:
    settings: Settings = ctx.settings("train", Settings)
    phases = (["real"] if settings.mode != "proxyless" else []) + (
        ["synthetic"] if settings.mode != "real" else []
    )
    return {
        "mode": settings.mode,
        "phases_per_epoch": phases,
        "epochs": settings.epochs,
        "warmup_epochs": settings.warmup_epochs,
        "seen_labels_per_real_batch": (
            min(settings.seen_labels_per_batch or len(ctx.labels.seen), len(ctx.labels.seen))
            if settings.mode != "proxyless"
            else None
        ),
        "backbone": settings.backbone,
        "fusion_head": _fusion_spec(ctx).plugin,
        "labels": len(ctx.labels.used),
        "validation": f"{_val_key(settings)}:{settings.val_split}" if _val_key(settings) else None,
        "selection": settings.selection,
        "selection_metric": settings.selection_metric,
        "select_checkpoints": settings.select_checkpoints,
        "schedule_step": settings.schedule_step,
        "augment": settings.augment,
        "output": str(ctx.path("classifier")),
    }


def _fingerprint(ctx: RunContext, settings: Settings) -> str:
    synthetic = ctx.path("synthetic", "metadata.jsonl")
    parts = {
        "seed": ctx.seed,
        "settings": settings.model_dump(exclude=_RESUMABLE_CHANGES),
        "fusion_head": _fusion_spec(ctx).model_dump(),
        "datasets": {k: v.model_dump() for k, v in ctx.config.datasets.items()},
        "labels": [ctx.labels.seen, ctx.labels.unseen, ctx.labels.used],
        "synthetic": hashlib.sha256(synthetic.read_bytes()).hexdigest() if synthetic.is_file() else None,
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _mixed_precision(choice: str, device: str) -> str:
    """accelerate's mixed-precision mode: ``auto`` is bf16 (else fp16) on a GPU and none on the CPU."""
    import torch

    on_gpu = device != "cpu" and torch.cuda.is_available()
    if choice == "auto":
        if not on_gpu:
            return "no"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if choice == "fp16" and not on_gpu:
        logger.info("[train] fp16 mixed precision needs a GPU: training in fp32")
        return "no"
    return choice


def _validator(ctx: RunContext, settings: Settings, held_out: Any) -> Any:
    """The selection score (see ``selection``), or None (then the last epoch is kept).

    ``held_out``: the synthetic images kept out of training for zero-shot selection (or None).
    """
    from tailorgen.classifier.inference import map_scorer
    from tailorgen.classifier.run_data import load_split
    from tailorgen.classifier.selection import mean_scorer

    key, labels = _val_key(settings), ctx.labels
    if settings.select_checkpoints == "zsl-and-gzsl":
        return _zsl_and_gzsl(ctx, settings)
    which = "seen" if settings.selection == "zero-shot" else settings.val_labels
    names = {"unseen": labels.unseen, "seen": labels.seen, "all": labels.used}[which]
    scorer = None
    if key is not None:
        data = load_split(ctx, key, settings.val_split, names, "val_dataset")
        scorer = map_scorer(data, names, batch_size=settings.val_batch_size, metric=settings.selection_metric)
    if settings.selection == "zero-shot":
        synthetic = (
            None
            if held_out is None
            else map_scorer(
                held_out, labels.unseen, batch_size=settings.val_batch_size, metric=settings.selection_metric
            )
        )
        scorer = mean_scorer(
            {f"seen on {key}:{settings.val_split}": scorer, "unseen on held-out synthetic": synthetic}
        )
    if scorer is None:
        logger.info(
            f"[train] no validation image carries a label to rank ({settings.selection}): keeping the last epoch"
        )
    return scorer


def _zsl_and_gzsl(ctx: RunContext, settings: Settings) -> Any:
    """model -> {"zsl": unseen-label score, "gzsl": all-label score} on the validation split (each on
    the images that carry one of its labels), or None without a validation data set."""
    from tailorgen.classifier.inference import map_scorer
    from tailorgen.classifier.run_data import load_split

    key = _val_key(settings)
    if key is None:
        return None
    scorers = {}
    for name, names in (("zsl", ctx.labels.unseen), ("gzsl", ctx.labels.used)):
        data = load_split(ctx, key, settings.val_split, names, "val_dataset")
        scorer = map_scorer(data, names, batch_size=settings.val_batch_size, metric=settings.selection_metric)
        if scorer is None:
            raise TailorgenError(
                f"no image of {key}:{settings.val_split} carries a label to rank for {name} selection",
                "choose a validation split with unseen-label annotations, or select_checkpoints = 'one'",
            )
        scorers[name] = scorer
    return lambda model: {name: scorer(model) for name, scorer in scorers.items()}


def _save_classifier(ctx: RunContext, model: Any, final: Any) -> None:
    partial = final.parent / f".{final.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    # the run's card, named after the run (not the staging folder it is written in)
    name = ctx.config.run.name + final.name.removeprefix("classifier")  # classifier-gzsl: NAME-gzsl
    model.save_pretrained(partial, model_card_kwargs={"run_dir": ctx.run_dir, "repo_id": name})
    replace_dir(partial, final)  # and fsync the folder: the rename survives a power cut
    logger.info(f"[train] classifier written to {final}")


def _calibrate(ctx: RunContext, settings: Settings, held_out: Any, model: Any) -> None:
    """Per-label thresholds on the validation images whose labels model selection may already read:
    the seen labels on the validation split; the unseen ones there too under ``selection = "val"``,
    on the held-out synthetic images under ``"zero-shot"``."""
    from tailorgen.classifier.run_data import load_split
    from tailorgen.classifier.thresholds import fit_thresholds

    labels, key, sets = ctx.labels, _val_key(settings), []
    if key is not None:
        unseen = settings.selection == "val" and settings.val_labels != "seen"
        names = list(labels.seen) + (list(labels.unseen) if unseen else [])
        data = load_split(ctx, key, settings.val_split, names, "val_dataset")
        sets.append((f"{key}:{settings.val_split}", data, names))
    if held_out is not None:
        sets.append(("held-out synthetic", held_out, labels.unseen))
    report = fit_thresholds(model, sets, batch_size=settings.val_batch_size)
    model.thresholds = report["thresholds"] if report else None
    model.thresholds_report = report
    if report is None:
        logger.info("[train] no validation image to choose label thresholds on: none saved")


def run(ctx: RunContext) -> dict[str, Any]:
    import torch
    from tailorgen.classifier import Classifier
    from tailorgen.classifier.augment import train_transform
    from tailorgen.classifier.checkpoints import TrainCheckpoints
    from tailorgen.classifier.run_data import load_split
    from tailorgen.classifier.selection import hold_out
    from tailorgen.classifier.training import FitConfig, Phase, fit

    settings: Settings = ctx.settings("train", Settings)
    validate(ctx)
    labels = ctx.labels
    final = ctx.path("classifier")
    checkpoints = TrainCheckpoints(
        ctx.path("train", "checkpoints"), _fingerprint(ctx, settings), settings.keep_checkpoints
    )
    if checkpoints.finished(settings.epochs) and (final / "model.safetensors").is_file():
        logger.info(f"[train] {final} is complete ({settings.epochs} epochs); nothing to do")
        return {"classifier": str(final), "epochs": settings.epochs, "already_done": True}

    fusion = _fusion_spec(ctx)
    torch.manual_seed(ctx.seed_for("train", "init"))  # the initial prompt contexts and fusion weights
    model = Classifier.build(
        settings.backbone,
        labels.used,
        fusion_head=fusion.plugin,
        fusion_options=fusion.options,
        n_ctx=settings.n_ctx,
        pretrained=settings.pretrained,
        logit_scale=settings.logit_scale,
        aggregation_scale=settings.aggregation_scale,
        resize=settings.resize,
        interpolation=settings.interpolation,
        seen=labels.seen,
        unseen=labels.unseen,
    )
    model.clip.transformer.grad_checkpointing = settings.text_checkpointing
    augment = train_transform(
        model.preprocess,
        model.image_size,
        randaugment=settings.randaugment,
        cutout=settings.cutout,
        augment=settings.augment,
    )
    phases, held_out = [], None
    if settings.mode != "proxyless":
        real = load_split(ctx, settings.real_dataset, settings.real_split, labels.seen, "real_dataset")
        phases.append(Phase("real", real, labels.seen, settings.seen_labels_per_batch))
    if settings.mode != "real":
        synthetic = load_split(
            ctx, settings.synthetic_dataset, settings.synthetic_split, labels.unseen, "synthetic_dataset"
        )
        if settings.selection == "zero-shot":  # these images select the model; they are not trained on
            synthetic, held_out = hold_out(
                synthetic, settings.synthetic_val_fraction, ctx.seed_for("train", "held-out")
            )
        phases.append(Phase("synthetic", synthetic, labels.unseen))
    for phase in phases:
        if len(phase.dataset) == 0:
            raise TailorgenError(
                f"the {phase.name} training set is empty", "check the data set and its split"
            )
        phase.dataset.transform = augment
    config = FitConfig(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        lr_context=settings.lr_context,
        lr_fusion=settings.lr_fusion,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
        mixed_precision=_mixed_precision(settings.mixed_precision, ctx.config.run.device),
        cpu=ctx.config.run.device == "cpu",
        num_workers=settings.num_workers,
        gamma_neg=settings.gamma_neg,
        gamma_pos=settings.gamma_pos,
        loss_clip=settings.loss_clip,
        loss_weight=settings.loss_weight,
        warmup_epochs=settings.warmup_epochs,
        warmup_lr=settings.warmup_lr,
        schedule_step=settings.schedule_step,
        loss_eps=settings.loss_eps,
    )
    summary = fit(
        model,
        phases,
        config,
        checkpoints=checkpoints,
        seed_for=ctx.seed_for,
        validate=_validator(ctx, settings, held_out),
        log_path=ctx.path("train", "log.jsonl"),
    )
    from tailorgen.runtime.distributed import processes

    procs = processes()
    if procs.is_main:
        # saved with the weights: docs/python-api.md#calibrated-thresholds
        _calibrate(ctx, settings, held_out, model)
        _save_classifier(ctx, model, final)
        gzsl = ctx.path("classifier-gzsl")
        shutil.rmtree(gzsl, ignore_errors=True)  # a gzsl classifier from an earlier run is stale
        if settings.select_checkpoints == "zsl-and-gzsl" and checkpoints.load_best(model, "best-gzsl"):
            _save_classifier(ctx, model, gzsl)
            checkpoints.load_best(model)
    procs.barrier()  # later stages on every process read classifier/
    sizes = {phase.name: len(phase.dataset) for phase in phases}
    if held_out is not None:
        sizes["synthetic held out"] = len(held_out)
    return {**summary, "mode": settings.mode, "images": sizes, "classifier": str(final)}

"""What the evaluate stage scores: the trained classifier and the untrained baselines, as jobs.

A job names its model and what identifies it (for the score cache) and computes the scores only
when called, so a cached model is never loaded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError

__all__ = ["BASELINES", "ScoringJob", "classifier_job", "clip_zeroshot_job"]

#: baseline name -> where its scorer lives (module, class); both use hand prompt templates
BASELINES: dict[str, tuple[str, str]] = {
    "clip-zeroshot": ("tailorgen.evaluation.zeroshot", "ClipZeroShot"),
    "clip-regions": ("tailorgen.evaluation.region_zeroshot", "ClipRegionZeroShot"),
}


@dataclass(frozen=True)
class ScoringJob:
    name: str
    source: str  # where the model comes from, for the report
    identity: Any  # what changes when the model changes (cache key)
    compute: Callable[[], np.ndarray]  # (images x label names) scores


def classifier_job(source: str, dataset: Any, names: list[str], **loader: Any) -> ScoringJob:
    """The classifier saved at ``source`` (a folder or a Hub id); ``loader``: batch_size, num_workers, device.

    A Hub classifier is identified by the commit its id resolves to now, and that commit is what gets
    scored: an updated repo is scored again, never served the old repo's cached scores.
    """
    revision = _hub_revision(source)
    return ScoringJob(
        "classifier",
        source,
        _file_stamp(source) if revision is None else (source, revision),
        functools.partial(_classifier_scores, source, dataset, names, revision=revision, **loader),
    )


def _hub_revision(source: str) -> str | None:
    """The commit sha of a Hub classifier id; None for a local folder (or a path that is not there)."""
    if Path(source).exists() or source.count("/") != 1 or source.startswith((".", "/", "~")):
        return None
    from tailorgen.classifier.serialization import hub_commit

    return hub_commit(source)


def clip_zeroshot_job(
    backbone: tuple[str, str | None],
    templates: tuple[str, ...],
    dataset: Any,
    names: list[str],
    baseline: str = "clip-zeroshot",
    **loader: Any,
) -> ScoringJob:
    """CLIP ``(model, pretrained tag)`` with prompt templates, scored as ``baseline`` (a :data:`BASELINES` name).

    ``clip-zeroshot``: the global image embedding; ``clip-regions``: the classifier's region head.
    ``loader`` as for the classifier.
    """
    import importlib

    if baseline not in BASELINES:
        raise TailorgenError(f"unknown baseline {baseline!r}", f"use one of {', '.join(BASELINES)}")
    module, name = BASELINES[baseline]
    clip = getattr(importlib.import_module(module), name)(
        *backbone, templates=templates, device=loader.pop("device")
    )
    compute = functools.partial(_clip_scores, clip, dataset, names, desc=baseline, **loader)
    return ScoringJob(baseline, clip.source, (clip.templates, _file_stamp(clip.model_name)), compute)


def _clip_scores(
    clip: Any, dataset: Any, names: list[str], *, batch_size: int, num_workers: int, desc: str
) -> np.ndarray:
    from tailorgen.evaluation.scoring import score_dataset

    text = clip.text_embeddings(names)
    return score_dataset(
        dataset,
        clip.transform,
        lambda images: clip.logits(images, text),
        batch_size=batch_size,
        num_workers=num_workers,
        desc=desc,
    )


def _classifier_scores(
    source: str,
    dataset: Any,
    names: list[str],
    *,
    revision: str | None,
    batch_size: int,
    num_workers: int,
    device: Any,
) -> np.ndarray:
    from tailorgen.classifier import Classifier
    from tailorgen.classifier.inference import predict
    from tailorgen.data.labeled_images import loader_errors

    if not Path(source).is_dir() and source.count("/") != 1:
        raise TailorgenError(
            f"no trained classifier at {source}", "run the train stage first, or set evaluate.classifier"
        )
    model = Classifier.from_pretrained(source, **({"revision": revision} if revision else {})).to(device)
    with loader_errors():
        scores = predict(model, dataset, names, batch_size=batch_size, num_workers=num_workers)
    return scores.numpy()


def _file_stamp(source: str) -> Any:
    """What identifies a model's weights cheaply: sizes and mtimes of its files, or the id itself."""
    path = Path(source.removeprefix("local-dir:"))
    if not path.is_dir():
        return source
    files = [p for p in path.iterdir() if p.is_file() and p.name != "README.md"]  # the card: no weights
    return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)

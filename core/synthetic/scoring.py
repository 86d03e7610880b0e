"""CLIP scores, the grouping softmax and the acceptance rules of the synthetic-image filter.

``u`` are CLIP logits ``100 * cos`` (B, C) against C label names; ``targets`` (B, C) marks each
image's target label set Y (the rest of the columns are its non-targets N). See docs/method.md, step 4.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from tailorgen.data.labels import LabelSet
    from torch import Tensor

__all__ = [
    "LooseVerdict",
    "accept_loose",
    "accept_strict",
    "clip_logits",
    "grouping_log_softmax",
    "grouping_softmax",
]

#: CLIP's logit scale as the method uses it (fixed, not the model's learned value)
LOGIT_SCALE = 100.0


def clip_logits(image_emb: Tensor, text_emb: Tensor, scale: float = LOGIT_SCALE) -> Tensor:
    """``scale * cos(image, text)``: (B, D) x (C, D) -> (B, C); embeddings need not be normalised.

    The method fixes ``scale`` at 100 (a real CLIP's learned scale); a CLIP whose learned scale is
    much smaller makes 100 x cosine an over-sharp softmax, so the filter lets callers choose.
    """
    import torch.nn.functional as F

    return scale * F.normalize(image_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T


def grouping_softmax(u: Tensor, targets: Tensor) -> Tensor:
    """Per-label probabilities v (B, C) where targets never compete with each other.

    For a target y: ``v_y = exp(u_y) / (exp(u_y) + sum_{m in N} exp(u_m))`` (a softmax over {y} + N).
    For a non-target n: the mean over the |Y| target groups of ``exp(u_n) / (exp(u_y) + sum_N exp)``.
    A row without targets is a single group: a plain softmax over all labels.
    Everything runs in log space (logsumexp), so large logits neither overflow nor lose gradients.
    """
    return grouping_log_softmax(u, targets).exp()


def grouping_log_softmax(u: Tensor, targets: Tensor) -> Tensor:
    """``log v`` of :func:`grouping_softmax`, finite even where v underflows to 0 (for losses)."""
    import torch

    targets = targets.to(dtype=torch.bool, device=u.device)
    neg_inf = torch.tensor(-math.inf, dtype=u.dtype, device=u.device)
    # log sum_{m in N} exp(u_m), -inf when every label is a target
    lse_nontargets = torch.where(targets, neg_inf, u).logsumexp(dim=-1, keepdim=True)
    # log-denominator of each target's group: log(exp(u_y) + sum_N exp(u_m))
    log_den = torch.logaddexp(u, lse_nontargets)
    n_targets = targets.sum(dim=-1, keepdim=True)
    # log mean_y exp(-log_den_y); rows without targets fall back to -logsumexp over all labels
    has_targets = n_targets > 0
    group_mean = torch.where(targets, -log_den, neg_inf).logsumexp(dim=-1, keepdim=True)
    group_mean = group_mean - n_targets.clamp(min=1).to(u.dtype).log()
    log_norm = torch.where(has_targets, group_mean, -u.logsumexp(dim=-1, keepdim=True))
    return torch.where(targets, u - log_den, u + log_norm)


def _ranks(v: Tensor) -> Tensor:
    """For each entry, how many entries of its row are strictly larger (0 = top; ties share a rank)."""
    return (v.unsqueeze(-1) < v.unsqueeze(-2)).sum(dim=-1)


def accept_strict(v: Tensor, targets: Tensor, threshold: float = 0.5) -> Tensor:
    """The paper's COCO rule: the top-|Y| labels by v are exactly Y, each with ``v > threshold``.

    Returns a bool tensor (B,). An image without targets is never accepted; a tie between the
    weakest target and the strongest non-target is a rejection (the top-|Y| would be ambiguous).
    """
    import torch

    targets = targets.to(dtype=torch.bool, device=v.device)
    inf = torch.tensor(math.inf, dtype=v.dtype, device=v.device)
    weakest_target = torch.where(targets, v, inf).amin(dim=-1)
    strongest_other = torch.where(targets, -inf, v).amax(dim=-1)
    return targets.any(dim=-1) & (weakest_target > threshold) & (weakest_target > strongest_other)


class LooseVerdict(NamedTuple):
    """Outcome of the loose rule per image."""

    #: (B,) bool: every target is in the top-k
    accepted: Tensor
    #: (B, C) bool: targets, extra positives and (when ``names`` and ``parents`` are given) ancestor columns
    positives: Tensor
    #: per image, names of the targets, then the extra positives (each in column order), then their
    #: ancestors; ``None`` when no ``names`` were given
    labels: list[list[str]] | None


def accept_loose(
    v: Tensor,
    targets: Tensor,
    *,
    top_k: int = 7,
    extra_threshold: float = 0.1,
    parents: LabelSet | Mapping[str, Sequence[str]] | None = None,
    names: Sequence[str] | None = None,
) -> LooseVerdict:
    """The paper's NUS rule: accept when every target ranks in the top-``top_k`` by v.

    Non-targets in the top-``top_k`` with ``v > extra_threshold`` become extra positives; the
    ancestors of every positive (``parents``: a label set's hierarchy or name -> ancestors) are
    added too. ``names`` are the C column names (needed for ``labels`` and for ancestors).
    """
    import torch

    targets = targets.to(dtype=torch.bool, device=v.device)
    in_top = _ranks(v) < top_k
    accepted = targets.any(dim=-1) & (in_top | ~targets).all(dim=-1)
    positives = targets | (in_top & (v > extra_threshold))
    if names is None:
        return LooseVerdict(accepted, positives, None)
    if len(names) != v.shape[-1]:
        raise ValueError(f"{len(names)} names for {v.shape[-1]} score columns")
    column = {name: i for i, name in enumerate(names)}
    labels: list[list[str]] = []
    for target_row, positive_row in zip(targets.tolist(), positives.tolist(), strict=True):
        chosen = [names[i] for i, flag in enumerate(target_row) if flag]
        chosen += [names[i] for i, flag in enumerate(positive_row) if flag and not target_row[i]]
        for name in list(chosen):
            chosen += [a for a in _ancestors(parents, name) if a not in chosen]
        labels.append(chosen)
    for b, chosen in enumerate(labels):
        for name in chosen:
            if name in column:
                positives[b, column[name]] = True
    return LooseVerdict(accepted, positives, labels)


def _ancestors(parents: LabelSet | Mapping[str, Sequence[str]] | None, name: str) -> list[str]:
    if parents is None:
        return []
    if isinstance(parents, Mapping):
        return list(parents.get(name, ()))
    return parents.ancestors(name) if name in parents.names else []

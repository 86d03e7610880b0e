"""DualCoOp's two scales, derived from the backbone's learned logit scale when set to ``"auto"``.

DualCoOp's logits are ``aggregation_scale * sum_r w_r * logit_scale * cos``: the paper's 5 x 20 = 100
is a real CLIP's learned logit scale, so the classifier's logits are on the CLIP's own contrastive
scale. ``"auto"`` keeps that property for any CLIP: ``logit_scale`` = learned / 5 (20 at 100), and
``aggregation_scale`` = learned / logit_scale (5 at 100), so their product is the learned scale.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["AUTO", "PAPER_AGGREGATION_SCALE", "PAPER_LOGIT_SCALE", "resolve_scales"]

AUTO = "auto"
#: the paper's scales, for a CLIP whose learned logit scale is 100
PAPER_LOGIT_SCALE = 20.0
PAPER_AGGREGATION_SCALE = 5.0
_PAPER_PRODUCT = PAPER_LOGIT_SCALE * PAPER_AGGREGATION_SCALE


def resolve_scales(
    logit_scale: float | Literal["auto"], aggregation_scale: float | Literal["auto"], learned: float
) -> tuple[float, float]:
    """(logit_scale, aggregation_scale) with every ``"auto"`` replaced, given the CLIP's learned scale.

    ``learned`` is rounded to 2 decimals first: a real CLIP stores ln(100) in float32, whose exp is
    99.99998, and should get exactly the paper's 20 and 5.
    """
    learned = round(float(learned), 2)
    if learned <= 0:
        raise ValueError(f"the backbone's learned logit scale is {learned}; 'auto' needs a positive one")
    region = learned * PAPER_LOGIT_SCALE / _PAPER_PRODUCT if logit_scale == AUTO else float(logit_scale)
    aggregation = learned / region if aggregation_scale == AUTO else float(aggregation_scale)
    return region, aggregation

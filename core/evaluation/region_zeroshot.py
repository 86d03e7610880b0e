"""The ``clip-regions`` baseline: the classifier's region head with hand prompts, no training.

DualCoOp's positive branch with the prompt-template text embeddings of ``clip-zeroshot`` in place
of learned contexts: every region of the image (the mean token and each spatial token of a
ModifiedResNet, :func:`~tailorgen.classifier.regions.region_features`) is compared with each label,
and the region scores ``s_r = logit_scale * cos`` are aggregated with weights ``softmax_r(s_r)``, at
the scales ``"auto"`` derives from the backbone (:mod:`tailorgen.classifier.scales`). It is what a
trained classifier starts from, so it is the zero-shot baseline a learned context has to beat.
"""

from __future__ import annotations

from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.evaluation.zeroshot import ClipZeroShot

__all__ = ["ClipRegionZeroShot"]


class ClipRegionZeroShot(ClipZeroShot):
    """:class:`ClipZeroShot`'s text embeddings scored against region features, DualCoOp-style."""

    def logits(self, images: Any, text: Any) -> Any:
        """``aggregation_scale * sum_r w_r s_r`` (B, C), ``w = softmax_r(s)``, ``s = logit_scale * cos``."""
        import torch
        from tailorgen.classifier.regions import region_features
        from tailorgen.classifier.scales import AUTO, resolve_scales

        model = self._loaded[0]
        if not hasattr(model.visual, "attnpool"):
            raise TailorgenError(
                f"clip-regions: {self.source!r} has no ModifiedResNet image tower (attention-pool regions)",
                "use a ResNet CLIP (e.g. RN50), or evaluate.baselines = ['clip-zeroshot']",
            )
        region_scale, aggregation = resolve_scales(AUTO, AUTO, float(model.logit_scale.exp()))
        with torch.no_grad():
            regions = region_features(model.visual, images.to(self.device)).float()
            scores = region_scale * torch.nn.functional.normalize(regions, dim=-1) @ text.T  # (B, R, C)
        return aggregation * (scores * scores.softmax(dim=1)).sum(dim=1)

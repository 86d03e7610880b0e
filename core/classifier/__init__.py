"""The DualCoOp-style zero-shot multi-label classifier, its loss and its fusion heads."""

from __future__ import annotations

from tailorgen.classifier.loss import softmax_asymmetric_loss
from tailorgen.classifier.model import Classifier

__all__ = ["Classifier", "softmax_asymmetric_loss"]

"""PyTorch backend: the trained classifier itself (the reference every export is validated against)."""

from __future__ import annotations

from typing import Any

import numpy as np
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.predict.base import Predictor

__all__ = ["TorchPredictor"]


class TorchPredictor(Predictor):
    backend = "torch"

    def __init__(self, classifier: Any, device: str = "cpu", autocast: str | None = None) -> None:
        """``autocast`` (``float16`` or ``bfloat16``) runs the model under torch.autocast in that precision."""
        super().__init__(ModelMetadata.from_classifier(classifier))
        self.device = device
        self.autocast = autocast
        self.classifier = classifier.to(device).eval()

    @classmethod
    def from_pretrained(cls, source: str, device: str = "cpu", autocast: str | None = None) -> TorchPredictor:
        """A saved classifier directory or a Hub repo id."""
        from tailorgen.classifier import Classifier

        return cls(Classifier.from_pretrained(source), device, autocast)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        import torch

        device_type = torch.device(self.device).type
        precision = getattr(torch, self.autocast) if self.autocast else None
        with torch.inference_mode(), torch.autocast(device_type, precision, enabled=precision is not None):
            batch = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(self.device)
            return self.classifier(batch).float().cpu().numpy()

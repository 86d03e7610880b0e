"""Validation during training: mAP on the labelled images, and a warning when probabilities saturate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from tailorgen.classifier.inference import map_scorer
from tailorgen.data.labeled_images import LabeledImages
from torch import nn


class _Scores(nn.Module):
    """Logits [0, margin * score] per label, so probabilities are sigmoid(margin * score)."""

    def __init__(self, scores: torch.Tensor, margin: float) -> None:
        super().__init__()
        self.scores, self.margin = scores, margin
        self.weight = nn.Parameter(torch.zeros(1))

    def transform(self):  # type: ignore[no-untyped-def]
        return lambda image: torch.tensor(float(image.getpixel((0, 0))[0]))  # the image's index

    def text_features_for(self, names: list[str]) -> None:
        return None

    def logits(self, images: torch.Tensor, text: None) -> torch.Tensor:
        positive = self.margin * self.scores[images.long()]
        return torch.stack([torch.zeros_like(positive), positive], dim=1)


@pytest.fixture
def images(tmp_path: Path) -> LabeledImages:
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (4, 4), (i, 0, 0)).save(paths[-1])
    targets = torch.tensor([[1, 0], [0, 1], [1, 1], [0, 0]])  # the last image has no label: left out
    return LabeledImages(paths, targets, ["a", "b"])


def test_map_of_the_labelled_images(images: LabeledImages, caplog: pytest.LogCaptureFixture) -> None:
    scores = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.5, 0.3], [1.0, 1.0]])
    scorer = map_scorer(images, ["a", "b"], batch_size=2)
    assert scorer is not None
    # label a: positives ranked 1 and 2 of 3 -> AP 1; label b: ranks 1 and 2 -> AP 1
    assert scorer(_Scores(scores, 1.0)) == pytest.approx(100.0)
    assert scorer(_Scores(-scores, 1.0)) < 100.0
    assert "exactly 0 or 1" not in caplog.text


def test_saturated_probabilities_warn_once(images: LabeledImages, caplog: pytest.LogCaptureFixture) -> None:
    scores = torch.tensor([[0.9, -0.1], [0.2, 0.8], [0.5, 0.3], [1.0, 1.0]])
    scorer = map_scorer(images, ["a", "b"])
    assert scorer is not None
    scorer(_Scores(scores, 1e4))  # every probability is exactly 0 or 1 in float32
    scorer(_Scores(scores, 1e4))
    warnings = [r for r in caplog.records if r.name.startswith("tailorgen.") and r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "100% of validation probabilities are exactly 0 or 1" in warnings[0].getMessage()
    assert "lower train.aggregation_scale" in warnings[0].getMessage()

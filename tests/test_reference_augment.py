"""``[train] augment = "reference"``: Cutout on every image and the pip ``randaugment`` policy.

The expected numbers are built from the reference's own definitions: ``CutoutPIL(cutout_factor=0.5)``
(side ``int(0.5 * S + 0.5)``, centre ``np.random.randint(S)`` per axis, box ``[c - side // 2,
c + side // 2]`` clipped to ``[0, S]``, drawn with PIL's inclusive ``rectangle``) and the
``randaugment`` package's ``RandAugment`` (a policy drawn uniformly from every pair of
``(0.5, op, magnitude)`` with 15 ops and magnitudes 1..9; magnitude tables from ``np.linspace``).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image
from tailorgen.classifier.augment import train_transform
from tailorgen.classifier.reference_augment import MAGNITUDES, OPERATIONS, CutoutBox, ReferenceRandAugment

SIZE = 224
PACKAGE_OPS = [
    "Invert", "Cutout", "Sharpness", "AutoContrast", "Posterize",
    "ShearX", "TranslateX", "TranslateY", "ShearY", "Rotate",
    "Equalize", "Contrast", "Color", "Solarize", "Brightness",
]  # fmt: skip


def reference_cutout_fraction(size: int, factor: float = 0.5) -> float:
    """The exact mean share of the image CutoutPIL paints, over its uniformly drawn centres."""
    half = int(factor * size + 0.5) // 2
    covered = [min(c + half, size, size - 1) - max(c - half, 0) + 1 for c in range(size)]
    return (sum(covered) / size) ** 2 / size**2


def test_cutout_paints_the_reference_share_on_every_image() -> None:
    torch.manual_seed(0)
    base = np.zeros((SIZE, SIZE, 3), np.uint8) + np.array([1, 2, 3], np.uint8)
    cutout, shares, colours = CutoutBox(), [], []
    for _ in range(2000):
        out = np.asarray(cutout(Image.fromarray(base)))
        changed = (out != base).any(axis=2)
        shares.append(changed.mean())
        colours.append(out[changed][0])
    expected = reference_cutout_fraction(SIZE)
    assert expected == pytest.approx(0.194, abs=0.001)  # about 19% of the image, on every image
    assert np.mean(shares) == pytest.approx(expected, abs=0.004)
    assert min(shares) > 0  # never skipped (the clean default erases with probability 0.5)
    assert np.mean(colours, axis=0) == pytest.approx([127.5] * 3, abs=6)  # a random colour per box


def test_randaugment_draws_the_packages_operation_distribution() -> None:
    op_list = [(op, m) for op in PACKAGE_OPS for m in range(1, 10)]
    policies = [(a, b) for a in op_list for b in op_list]  # the package's policy list, drawn uniformly
    expected_op = Counter(a[0] for a, _ in policies)
    expected_magnitude = Counter(a[1] for a, _ in policies)
    torch.manual_seed(0)
    draws = [ReferenceRandAugment().draw() for _ in range(20000)]
    assert list(OPERATIONS) == PACKAGE_OPS
    for slot in (0, 1):
        ops = Counter(d[slot][0] for d in draws)
        for op in PACKAGE_OPS:
            assert ops[op] / len(draws) == pytest.approx(expected_op[op] / len(policies), abs=0.008), op
        magnitudes = Counter(d[slot][1] for d in draws)
        for m in range(1, 10):
            assert magnitudes[m] / len(draws) == pytest.approx(
                expected_magnitude[m] / len(policies), abs=0.01
            )
        assert np.mean([d[slot][2] for d in draws]) == pytest.approx(0.5, abs=0.015)
    pairs = Counter((d[0][0], d[1][0]) for d in draws)
    assert len(pairs) == 15 * 15  # the two slots are drawn independently


def test_magnitudes_are_the_packages_linspace_tables() -> None:
    tables = {
        "ShearX": np.linspace(0, 0.3, 10),
        "TranslateY": np.linspace(0, 150 / 331, 10),
        "Rotate": np.linspace(0, 30, 10),
        "Color": np.linspace(0.0, 0.9, 10),
        "Posterize": np.round(np.linspace(8, 4, 10), 0).astype(int),
        "Solarize": np.linspace(256, 0, 10),
        "Cutout": np.round(np.linspace(0, 20, 10), 0).astype(int),
    }
    for op, table in tables.items():
        assert MAGNITUDES[op] == pytest.approx(table.tolist()), op


@pytest.mark.parametrize("op", PACKAGE_OPS)
def test_every_operation_keeps_an_rgb_image_of_its_size(op: str, monkeypatch: pytest.MonkeyPatch) -> None:
    augment = ReferenceRandAugment()
    monkeypatch.setattr(augment, "draw", lambda: [(op, 9, True), (op, 9, False)])
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), np.uint8))
    out = augment(image)
    assert (out.mode, out.size) == ("RGB", (40, 40))
    assert op in {"AutoContrast", "Equalize"} or not np.array_equal(np.asarray(out), np.asarray(image))


def test_reference_train_transform_is_bilinear_cutout_randaugment_and_seeded() -> None:
    preprocess = {"mean": [0.5] * 3, "std": [0.25] * 3, "resize": "whole", "interpolation": "bilinear"}
    transform = train_transform(preprocess, 32, augment="reference")
    names = [type(step).__name__ for step in transform.transforms]
    assert names == ["ToRGB", "Resize", "CutoutBox", "ReferenceRandAugment", "ToTensor", "Normalize"]
    assert transform.transforms[1].interpolation.value == "bilinear"
    image = Image.new("RGB", (50, 40), (10, 200, 30))
    torch.manual_seed(3)
    first = transform(image)
    torch.manual_seed(3)
    assert torch.equal(first, transform(image))
    assert first.shape == (3, 32, 32)

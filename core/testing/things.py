"""A seeded renderer of 64 px scenes of 48 drawable things with attributes, and varied captions.

The richer successor of :mod:`tailorgen.testing.shapes`. A scene holds 1-3 distinct things (its
multi-hot labels); each thing has a colour, a size (small/big), a pattern (solid, striped, dotted,
outlined) and a count (one to three copies). Two domains play the roles of web-scale pretraining
data and of the target data set (COCO):

- ``pretrain``: any background (plain, gradient, stripes, checker; light or dark), larger things;
- ``target``: darker textured backgrounds with pixel noise, smaller things, up to 4 of them.

Captions (:mod:`tailorgen.testing.things_captions`) name every thing with a random subset of its
attributes in varied templates and word orders, so a text tower learns words, not one pattern.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal

from tailorgen.testing.shapes import COLOURS, background_pixels
from tailorgen.testing.things_drawings import DRAWINGS, THINGS

__all__ = ["PATTERNS", "THINGS", "Item", "Scene", "render", "sample_scene"]

Domain = Literal["pretrain", "target"]
PATTERNS: tuple[str, ...] = ("solid", "striped", "dotted", "outlined")
_SUPERSAMPLE = 4
_OUTLINE = 6  # outline width in supersampled pixels (1.5 px)


@dataclass(frozen=True)
class Item:
    """One thing of the scene: its copies share colour, size and pattern."""

    thing: str
    colour: str
    size: str  # "small" or "big"
    pattern: str
    copies: tuple[tuple[float, float, float, float], ...]  # (x, y, radius, angle) per copy, pixels


@dataclass(frozen=True)
class Scene:
    domain: str
    size: int
    items: tuple[Item, ...]
    background: tuple[Any, ...]  # (kind, colour a, colour b, period)
    noise: float
    noise_seed: int

    @property
    def things(self) -> list[str]:
        return [item.thing for item in self.items]


def _background(rng: random.Random, domain: Domain) -> tuple[Any, ...]:
    if domain == "pretrain" and rng.random() < 0.4:
        grey = rng.choice((rng.randint(190, 245), rng.randint(20, 70)))
        return ("plain", tuple(min(255, max(0, grey + rng.randint(-10, 10))) for _ in range(3)), None, 0.0)
    kind = rng.choice(("gradient", "stripes", "checker"))
    low, high = (40, 150) if domain == "target" else (20, 235)
    a = tuple(rng.randint(low, high) for _ in range(3))
    b = tuple(rng.randint(low, high) for _ in range(3))
    return (kind, a, b, rng.uniform(3.0, 9.0))


def _place(rng: random.Random, radii: list[float], size: int) -> list[tuple[float, float]] | None:
    centres: list[tuple[float, float]] = []
    for radius in radii:
        for _ in range(80):
            x, y = rng.uniform(radius, size - radius), rng.uniform(radius, size - radius)
            if all(
                math.hypot(x - cx, y - cy) > radius + r for (cx, cy), r in zip(centres, radii, strict=False)
            ):
                centres.append((x, y))
                break
        else:
            return None
    return centres


def sample_scene(
    rng: random.Random, domain: Domain = "pretrain", size: int = 64, things: list[str] | None = None
) -> Scene:
    """A random scene of ``things`` (distinct names of :data:`THINGS`), else of 1-3 (target: 1-4) random ones."""
    if things is None:
        things = rng.sample(THINGS, rng.randint(1, 3 if domain == "pretrain" else 4))
    if any(t not in DRAWINGS for t in things) or len(set(things)) != len(things):
        raise ValueError(f"things must be distinct names from THINGS, got {things}")
    base = (0.13, 0.19, 0.26) if domain == "pretrain" else (0.11, 0.15, 0.21)  # small / big bounds
    specs = []
    for thing in things:
        big = rng.random() < 0.5
        copies = rng.choices((1, 2, 3), weights=(0.7, 0.2, 0.1))[0]
        specs.append((thing, big, copies))
    shrink = 1.0 if sum(c for _, _, c in specs) <= 3 else 0.85
    radii, owners = [], []
    for index, (_, big, copies) in enumerate(specs):
        low, high = (base[1], base[2]) if big else (base[0], base[1])
        for _ in range(copies):
            radii.append(rng.uniform(low, high) * size * shrink)
            owners.append(index)
    centres = _place(rng, radii, size)
    while centres is None:  # crowded: shrink everything a little and try again
        radii = [r * 0.9 for r in radii]
        centres = _place(rng, radii, size)
    items = []
    for index, (thing, big, _) in enumerate(specs):
        copies = tuple(
            (x, y, r, math.radians(rng.uniform(-15, 15)))
            for (x, y), r, owner in zip(centres, radii, owners, strict=True)
            if owner == index
        )
        pattern = rng.choices(PATTERNS, weights=(0.55, 0.15, 0.15, 0.15))[0]
        items.append(Item(thing, rng.choice(list(COLOURS)), "big" if big else "small", pattern, copies))
    noise = 10.0 if domain == "target" else rng.choice((0.0, 0.0, 4.0, 8.0))
    return Scene(domain, size, tuple(items), _background(rng, domain), noise, rng.getrandbits(32))


def _draw(draw: Any, parts: list[Any], pose: tuple[float, float, float, float]) -> None:
    """Draw ``parts`` at ``pose`` = (centre x, centre y, radius, angle) in the canvas's pixels."""
    cx, cy, r, angle = pose
    cos, sin = math.cos(angle), math.sin(angle)

    def at(x: float, y: float) -> tuple[float, float]:
        return cx + r * (x * cos - y * sin), cy + r * (x * sin + y * cos)

    for kind, fill, geometry in parts:
        if kind == "poly":
            draw.polygon([at(x, y) for x, y in geometry], fill=fill)
        elif kind == "ellipse":
            ex, ey, rx, ry = geometry
            x, y = at(ex, ey)
            draw.ellipse((x - r * rx, y - r * ry, x + r * rx, y + r * ry), fill=fill)
        else:
            points, width = geometry
            draw.line([at(x, y) for x, y in points], fill=fill, width=max(1, round(width * r)), joint="curve")


def _coverage(item: Item, size: int) -> Any:
    """(size, size, 1) float32 coverage of every copy of ``item``, with its pattern applied.

    Drawn supersampled inside the copies' bounding box only (the cost of a scene stays small).
    """
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    x0 = max(0, min(math.floor(x - r) - 1 for x, _, r, _ in item.copies))
    y0 = max(0, min(math.floor(y - r) - 1 for _, y, r, _ in item.copies))
    x1 = min(size, max(math.ceil(x + r) + 1 for x, _, r, _ in item.copies))
    y1 = min(size, max(math.ceil(y + r) + 1 for _, y, r, _ in item.copies))
    shape = ((x1 - x0) * _SUPERSAMPLE, (y1 - y0) * _SUPERSAMPLE)
    mask = Image.new("L", shape, 0)
    for x, y, radius, angle in item.copies:
        layer = Image.new("L", shape, 0)  # cut-outs stay inside their own copy
        at = ((x - x0) * _SUPERSAMPLE, (y - y0) * _SUPERSAMPLE, radius * _SUPERSAMPLE, angle)
        _draw(ImageDraw.Draw(layer), DRAWINGS[item.thing], at)
        mask.paste(255, (0, 0), layer)
    pixels = np.asarray(mask, dtype=np.float32) / 255.0
    if item.pattern != "solid":
        ys, xs = np.mgrid[0 : shape[1], 0 : shape[0]].astype(np.float32) / _SUPERSAMPLE
        xs, ys = xs + x0, ys + y0  # patterns on the image's grid
        if item.pattern == "striped":  # gaps between diagonal bands
            pixels = pixels * (np.floor((xs - ys) / 2.5) % 2 == 0)
        elif item.pattern == "dotted":  # holes on a grid
            pixels = pixels * (((xs % 4 - 2) ** 2 + (ys % 4 - 2) ** 2) > 1.4)
        else:  # outlined: the mask minus its erosion
            eroded = mask.filter(ImageFilter.MinFilter(2 * _OUTLINE + 1))
            pixels = pixels * (1 - np.asarray(eroded, dtype=np.float32) / 255.0)
    local = Image.fromarray((pixels * 255).astype(np.uint8)).resize((x1 - x0, y1 - y0), Image.Resampling.BOX)
    alpha = np.zeros((size, size, 1), dtype=np.float32)
    alpha[y0:y1, x0:x1, 0] = np.asarray(local, dtype=np.float32) / 255.0
    return alpha


def render(scene: Scene) -> Any:
    """The scene as an RGB ``PIL.Image`` (the same scene always gives the same pixels)."""
    import numpy as np
    from PIL import Image

    pixels = background_pixels(scene.background, scene.size)
    for item in scene.items:
        alpha = _coverage(item, scene.size)
        pixels = pixels * (1 - alpha) + np.asarray(COLOURS[item.colour], dtype=np.float32) * alpha
    if scene.noise:
        noise = np.random.default_rng(scene.noise_seed).normal(0.0, scene.noise, pixels.shape)
        pixels = pixels + noise.astype(np.float32)
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB")

"""A seeded renderer of small shape scenes with captions: the world of ``benchmarks/shapes``.

Two domains play the roles of web-scale pretraining data and of the target data set (COCO):

- ``pretrain``: 1-3 large flat shapes on a plain pale background;
- ``target``: 1-3 smaller shapes on a textured, darker background with pixel noise.

Every object is a (colour, shape) pair; an image never holds the same shape twice, so its multi-hot
label vector is exactly the set of shapes drawn.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["COLOURS", "SHAPES", "Scene", "background_pixels", "caption", "render", "sample_scene"]

Domain = Literal["pretrain", "target"]

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 30, 30),
    "green": (30, 165, 50),
    "blue": (40, 70, 220),
    "yellow": (240, 210, 30),
    "orange": (245, 130, 20),
    "purple": (140, 50, 190),
    "pink": (240, 110, 180),
    "cyan": (30, 200, 210),
    "brown": (125, 75, 30),
    "black": (20, 20, 20),
}

_SUPERSAMPLE = 4  # shapes are drawn 4x larger and box-filtered down: smooth edges, sub-pixel sizes


def _regular(n: int, phase: float = -math.pi / 2) -> list[tuple[float, float]]:
    return [(math.cos(phase + 2 * math.pi * i / n), math.sin(phase + 2 * math.pi * i / n)) for i in range(n)]


def _star() -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = 1.0 if i % 2 == 0 else 0.42
        angle = -math.pi / 2 + math.pi * i / 5
        points.append((radius * math.cos(angle), radius * math.sin(angle)))
    return points


_CROSS = [(-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3), (0.3, 1), (-0.3, 1)]
_CROSS += [(-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)]
_ARROW = [(-1, -0.3), (0.1, -0.3), (0.1, -0.8), (1, 0), (0.1, 0.8), (0.1, 0.3), (-1, 0.3)]

#: polygon outlines in unit coordinates (y down); the round shapes are drawn in :func:`_draw_round`
_POLYGONS: dict[str, list[tuple[float, float]]] = {
    "square": [(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)],
    "triangle": [(0, -1), (0.95, 0.75), (-0.95, 0.75)],
    "star": _star(),
    "cross": [(float(x), float(y)) for x, y in _CROSS],
    "diamond": [(0, -1), (0.65, 0), (0, 1), (-0.65, 0)],
    "hexagon": _regular(6, 0.0),
    "pentagon": _regular(5),
    "arrow": [(float(x), float(y)) for x, y in _ARROW],
}
_ROUND = ("circle", "ring", "heart", "crescent")

#: the 12 shape classes (label names of the world)
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "heart", "ring", "diamond")
SHAPES += ("hexagon", "crescent", "arrow", "pentagon")


@dataclass(frozen=True)
class Object:
    shape: str
    colour: str
    x: float  # centre, in pixels
    y: float
    radius: float  # in pixels
    angle: float  # rotation, radians


@dataclass(frozen=True)
class Scene:
    domain: str
    size: int
    objects: tuple[Object, ...]
    background: tuple[Any, ...]  # (kind, colour a, colour b, parameter)
    noise_seed: int

    @property
    def shapes(self) -> list[str]:
        return [obj.shape for obj in self.objects]


def _place(rng: random.Random, radii: list[float], size: int) -> list[tuple[float, float]] | None:
    centres: list[tuple[float, float]] = []
    for radius in radii:
        for _ in range(60):
            x, y = rng.uniform(radius, size - radius), rng.uniform(radius, size - radius)
            if all(
                math.hypot(x - cx, y - cy) > radius + r + 1
                for (cx, cy), r in zip(centres, radii, strict=False)
            ):
                centres.append((x, y))
                break
        else:
            return None
    return centres


def _background(rng: random.Random, domain: Domain) -> tuple[Any, ...]:
    if domain == "pretrain":
        grey = rng.randint(200, 245)
        return ("plain", tuple(min(255, grey + rng.randint(-8, 8)) for _ in range(3)), None, 0.0)
    kind = rng.choice(("gradient", "stripes", "checker"))
    a = tuple(rng.randint(40, 150) for _ in range(3))
    b = tuple(rng.randint(60, 190) for _ in range(3))
    return (kind, a, b, rng.uniform(3.0, 9.0))


def sample_scene(
    rng: random.Random,
    domain: Domain = "pretrain",
    size: int = 64,
    n_objects: int | None = None,
    shapes: list[str] | None = None,
) -> Scene:
    """A random scene: ``shapes`` (distinct) if given, else ``n_objects`` (default 1-3) random ones."""
    if shapes is None:
        shapes = rng.sample(SHAPES, n_objects or rng.randint(1, 3))
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown or len(set(shapes)) != len(shapes):
        raise ValueError(f"shapes must be distinct names from SHAPES, got {shapes}")
    low, high = (0.15, 0.24) if domain == "pretrain" else (0.10, 0.16)
    radii = [rng.uniform(low, high) * size for _ in shapes]
    centres = _place(rng, radii, size)
    while centres is None:  # crowded: shrink everything a little and try again
        radii = [r * 0.9 for r in radii]
        centres = _place(rng, radii, size)
    objects = tuple(
        Object(shape, rng.choice(list(COLOURS)), x, y, r, math.radians(rng.uniform(-15, 15)))
        for shape, (x, y), r in zip(shapes, centres, radii, strict=True)
    )
    return Scene(domain, size, objects, _background(rng, domain), rng.getrandbits(32))


def _draw_round(draw: Any, obj: Object, cx: float, cy: float, r: float) -> None:
    shape, angle = obj.shape, obj.angle

    def disc(x: float, y: float, radius: float, fill: int) -> None:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)

    if shape == "circle":
        disc(cx, cy, r, 255)
    elif shape == "ring":
        disc(cx, cy, r, 255)
        disc(cx, cy, r * 0.55, 0)
    elif shape == "crescent":
        disc(cx, cy, r, 255)
        disc(cx + 0.45 * r * math.cos(angle), cy + 0.45 * r * math.sin(angle) - 0.2 * r, r * 0.85, 0)
    else:  # heart: two lobes and a point
        for side in (-1, 1):
            disc(cx + side * 0.45 * r, cy - 0.3 * r, 0.52 * r, 255)
        draw.polygon([(cx - 0.95 * r, cy - 0.12 * r), (cx + 0.95 * r, cy - 0.12 * r), (cx, cy + r)], fill=255)


def _alpha(obj: Object, size: int) -> Any:
    """The object's coverage (0..1, float32, size x size), drawn supersampled in its own box only."""
    import numpy as np
    from PIL import Image, ImageDraw

    x0 = max(0, math.floor(obj.x - obj.radius) - 1)
    y0 = max(0, math.floor(obj.y - obj.radius) - 1)
    x1 = min(size, math.ceil(obj.x + obj.radius) + 1)
    y1 = min(size, math.ceil(obj.y + obj.radius) + 1)
    mask = Image.new("L", ((x1 - x0) * _SUPERSAMPLE, (y1 - y0) * _SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(mask)
    cx, cy = (obj.x - x0) * _SUPERSAMPLE, (obj.y - y0) * _SUPERSAMPLE
    r = obj.radius * _SUPERSAMPLE
    if obj.shape in _ROUND:
        _draw_round(draw, obj, cx, cy, r)
    else:
        cos, sin = math.cos(obj.angle), math.sin(obj.angle)
        points = [
            (cx + r * (x * cos - y * sin), cy + r * (x * sin + y * cos)) for x, y in _POLYGONS[obj.shape]
        ]
        draw.polygon(points, fill=255)
    alpha = np.zeros((size, size, 1), dtype=np.float32)
    local = mask.resize((x1 - x0, y1 - y0), Image.Resampling.BOX)
    alpha[y0:y1, x0:x1, 0] = np.asarray(local, dtype=np.float32) / 255.0
    return alpha


def background_pixels(background: tuple[Any, ...], size: int) -> Any:
    """(size, size, 3) float32 pixels of ``background`` = (kind, colour a, colour b, period)."""
    import numpy as np

    kind, a, b, period = background
    a = np.asarray(a, dtype=np.float32)
    if kind == "plain":
        return np.broadcast_to(a, (size, size, 3)).copy()
    b = np.asarray(b, dtype=np.float32)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == "gradient":
        t = (xs + ys) / (2 * size - 2)
    elif kind == "stripes":
        t = (np.floor((xs + ys) / period) % 2).astype(np.float32)
    else:
        t = ((np.floor(xs / period) + np.floor(ys / period)) % 2).astype(np.float32)
    return a + (b - a) * t[..., None]


def render(scene: Scene) -> Any:
    """The scene as an RGB ``PIL.Image`` (the same scene always gives the same pixels)."""
    import numpy as np
    from PIL import Image

    pixels = background_pixels(scene.background, scene.size)
    for obj in scene.objects:
        alpha = _alpha(obj, scene.size)
        pixels = pixels * (1 - alpha) + np.asarray(COLOURS[obj.colour], dtype=np.float32) * alpha
    if scene.domain == "target":  # sensor-like noise, a photo's look rather than a drawing's
        noise = np.random.default_rng(scene.noise_seed).normal(0.0, 10.0, pixels.shape)
        pixels = pixels + noise.astype(np.float32)
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB")


def _article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


_PAIR_JOINERS = (" next to ", " and ", " beside ", " with ", " near ")
_OPENERS = ("", "", "a photo of ", "a picture of ", "an image of ", "a drawing of ")


def caption(rng: random.Random, scene: Scene, web_words: bool = False) -> str:
    """A varied caption naming every object ("a red star next to a blue ring", "a photo of a heart").

    ``web_words``: half the captions use the determiners and joiners of the ``template`` prompt
    writer ("our star not far from the heart"), as web captions use all kinds of phrasing.
    """
    objects = list(scene.objects)
    rng.shuffle(objects)
    with_colour = rng.random() < 0.75
    words = [f"{o.colour} {o.shape}" if with_colour else o.shape for o in objects]
    if web_words and rng.random() < 0.5:
        from tailorgen.plugins import template_vocab as vocab

        phrases = [_web_article(rng.choice(vocab.DETERMINERS), w) for w in words]
        joiners = tuple(f" {j} " for j in vocab.JOINERS)
    else:
        phrases, joiners = [_article(w) for w in words], _PAIR_JOINERS
    if len(phrases) == 1:
        body = phrases[0]
    elif len(phrases) == 2:
        body = phrases[0] + rng.choice(joiners) + phrases[1]
    else:
        last = rng.choice(joiners) if joiners is not _PAIR_JOINERS else " and "
        body = f"{phrases[0]}, {phrases[1]}{last}{phrases[2]}"
    return rng.choice(_OPENERS) + body


def _web_article(determiner: str, phrase: str) -> str:
    return _article(phrase) if determiner == "a" else f"{determiner} {phrase}"

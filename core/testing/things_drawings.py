"""The 48 drawable things of the things world, each a list of filled or cut-out primitives.

Coordinates are in a unit box (x right, y down, [-1, 1]); a part is ``(kind, fill, geometry)``:
``poly`` (points), ``ellipse`` (cx, cy, rx, ry) or ``line`` (points, width). ``fill`` 255 draws, 0
cuts out (a door, an eye, a ring's hole). Later parts paint over earlier ones.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["DRAWINGS", "THINGS"]

Part = tuple[str, int, Any]


def _regular(n: int, phase: float = -math.pi / 2, r: float = 1.0) -> list[tuple[float, float]]:
    return [
        (r * math.cos(phase + 2 * math.pi * i / n), r * math.sin(phase + 2 * math.pi * i / n))
        for i in range(n)
    ]


def _star() -> list[tuple[float, float]]:
    return [
        ((1.0 if i % 2 == 0 else 0.42) * math.cos(-math.pi / 2 + math.pi * i / 5),
         (1.0 if i % 2 == 0 else 0.42) * math.sin(-math.pi / 2 + math.pi * i / 5))
        for i in range(10)
    ]  # fmt: skip


def _rect(x0: float, y0: float, x1: float, y1: float, fill: int = 255) -> Part:
    return ("poly", fill, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


def _disc(cx: float, cy: float, r: float, fill: int = 255, ry: float | None = None) -> Part:
    return ("ellipse", fill, (cx, cy, r, r if ry is None else ry))


def _half_disc(cx: float, cy: float, rx: float, ry: float, n: int = 16) -> Part:
    """The upper half of an ellipse (a dome), flat side down at ``cy``."""
    points = [
        (cx + rx * math.cos(math.pi + math.pi * i / n), cy + ry * math.sin(math.pi + math.pi * i / n))
        for i in range(n + 1)
    ]
    return ("poly", 255, points)


def _line(points: list[tuple[float, float]], width: float, fill: int = 255) -> Part:
    return ("line", fill, (points, width))


_CROSS = [(-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3), (0.3, 1), (-0.3, 1)]
_CROSS += [(-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)]
_ARROW = [(-1, -0.3), (0.1, -0.3), (0.1, -0.8), (1, 0), (0.1, 0.8), (0.1, 0.3), (-1, 0.3)]
_LEAF = [(0.0, -1.0)] + [(0.6 * math.sin(math.pi * t / 8), -1 + 2 * t / 8) for t in range(1, 8)]
_LEAF += [(0.0, 1.0)] + [(-0.6 * math.sin(math.pi * t / 8), 1 - 2 * t / 8) for t in range(1, 8)]
_BELL = [(-0.15, -1), (0.15, -1), (0.5, -0.6), (0.6, 0.2), (0.9, 0.6), (-0.9, 0.6), (-0.6, 0.2), (-0.5, -0.6)]

#: name -> parts, in the order of :data:`THINGS`
DRAWINGS: dict[str, list[Part]] = {
    # -- plane shapes --
    "circle": [_disc(0, 0, 1)],
    "oval": [_disc(0, 0, 1, ry=0.6)],
    "semicircle": [_half_disc(0, 0.45, 1, 1.1)],
    "ring": [_disc(0, 0, 1), _disc(0, 0, 0.55, 0)],
    "crescent": [_disc(0, 0, 1), _disc(0.45, -0.2, 0.85, 0)],
    "heart": [_disc(-0.45, -0.3, 0.52), _disc(0.45, -0.3, 0.52), ("poly", 255, [(-0.95, -0.12), (0.95, -0.12), (0, 1)])],
    "square": [_rect(-0.8, -0.8, 0.8, 0.8)],
    "triangle": [("poly", 255, [(0, -1), (0.95, 0.75), (-0.95, 0.75)])],
    "star": [("poly", 255, _star())],
    "cross": [("poly", 255, _CROSS)],
    "diamond": [("poly", 255, [(0, -1), (0.65, 0), (0, 1), (-0.65, 0)])],
    "hexagon": [("poly", 255, _regular(6, 0.0))],
    "pentagon": [("poly", 255, _regular(5))],
    "crown": [("poly", 255, [(-0.9, 0.7), (-0.9, -0.6), (-0.45, -0.05), (0, -0.8), (0.45, -0.05), (0.9, -0.6), (0.9, 0.7)])],
    "trapezoid": [("poly", 255, [(-1, 0.6), (1, 0.6), (0.5, -0.6), (-0.5, -0.6)])],
    "arrow": [("poly", 255, _ARROW)],
    # -- things --
    "house": [_rect(-0.7, -0.1, 0.7, 1), ("poly", 255, [(-0.95, -0.05), (0, -1), (0.95, -0.05)]), _rect(-0.18, 0.45, 0.18, 1, 0)],
    "tree": [_rect(-0.15, 0.2, 0.15, 1), _disc(0, -0.3, 0.72, ry=0.68)],
    "flower": [*(_disc(0.55 * math.cos(a), 0.55 * math.sin(a), 0.36) for a in (i * 2 * math.pi / 5 for i in range(5))), _disc(0, 0, 0.27, 0), _disc(0, 0, 0.17)],
    "sun": [_disc(0, 0, 0.5), *(_line([(0.66 * math.cos(a), 0.66 * math.sin(a)), (math.cos(a), math.sin(a))], 0.14) for a in (i * math.pi / 4 for i in range(8)))],
    "cloud": [_disc(-0.5, 0.2, 0.45), _disc(0.05, -0.15, 0.55), _disc(0.55, 0.2, 0.42), _rect(-0.5, 0.1, 0.55, 0.62)],
    "car": [_rect(-1, -0.05, 1, 0.45), ("poly", 255, [(-0.6, -0.05), (-0.35, -0.5), (0.35, -0.5), (0.6, -0.05)]), _disc(-0.55, 0.5, 0.28), _disc(0.55, 0.5, 0.28), _disc(-0.55, 0.5, 0.12, 0), _disc(0.55, 0.5, 0.12, 0)],
    "fish": [_disc(-0.2, 0, 0.65, ry=0.42), ("poly", 255, [(0.35, 0), (1, -0.5), (1, 0.5)]), _disc(-0.55, -0.1, 0.09, 0)],
    "umbrella": [_half_disc(0, -0.1, 1, 0.85), _line([(0, -0.1), (0, 0.8)], 0.12), _line([(0, 0.8), (-0.15, 0.95), (-0.3, 0.8)], 0.12)],
    "mushroom": [_half_disc(0, 0.05, 0.95, 0.8), _rect(-0.25, 0.0, 0.25, 0.95)],
    "cup": [("poly", 255, [(-0.65, -0.7), (0.45, -0.7), (0.35, 0.8), (-0.55, 0.8)]), _disc(0.55, 0.0, 0.35), _disc(0.55, 0.0, 0.18, 0)],
    "boat": [("poly", 255, [(-1, 0.35), (1, 0.35), (0.6, 0.85), (-0.6, 0.85)]), _line([(0, 0.35), (0, -0.95)], 0.1), ("poly", 255, [(0.08, -0.95), (0.08, 0.2), (0.8, 0.2)])],
    "kite": [("poly", 255, [(0, -1), (0.55, -0.25), (0, 0.45), (-0.55, -0.25)]), _line([(0, 0.45), (0.25, 0.65), (-0.15, 0.8), (0.15, 1)], 0.08)],
    "lollipop": [_disc(0, -0.35, 0.62), _line([(0, 0.2), (0, 1)], 0.14)],
    "balloon": [_disc(0, -0.3, 0.55, ry=0.68), ("poly", 255, [(0, 0.3), (0.12, 0.48), (-0.12, 0.48)]), _line([(0, 0.45), (0.12, 0.72), (-0.06, 1)], 0.07)],
    "candle": [_rect(-0.28, -0.25, 0.28, 1), _disc(0, -0.65, 0.16, ry=0.3)],
    "bottle": [_rect(-0.42, -0.15, 0.42, 1), ("poly", 255, [(-0.42, -0.15), (-0.15, -0.5), (0.15, -0.5), (0.42, -0.15)]), _rect(-0.15, -1, 0.15, -0.45)],
    "tent": [("poly", 255, [(0, -0.9), (1, 0.8), (-1, 0.8)]), ("poly", 0, [(0, -0.05), (0.3, 0.8), (-0.3, 0.8)])],
    "ladder": [_line([(-0.45, -1), (-0.45, 1)], 0.16), _line([(0.45, -1), (0.45, 1)], 0.16), *(_line([(-0.45, y), (0.45, y)], 0.13) for y in (-0.6, -0.2, 0.2, 0.6))],
    "hourglass": [("poly", 255, [(-0.65, -0.85), (0.65, -0.85), (0, 0)]), ("poly", 255, [(0, 0), (0.65, 0.85), (-0.65, 0.85)]), _rect(-0.8, -1, 0.8, -0.82), _rect(-0.8, 0.82, 0.8, 1)],
    "bowtie": [("poly", 255, [(-1, -0.6), (0, 0), (-1, 0.6)]), ("poly", 255, [(1, -0.6), (0, 0), (1, 0.6)]), _disc(0, 0, 0.2)],
    "hammer": [_rect(-0.75, -0.95, 0.75, -0.5), _rect(-0.13, -0.5, 0.13, 1)],
    "key": [_disc(-0.55, 0, 0.42), _disc(-0.55, 0, 0.2, 0), _rect(-0.2, -0.1, 1, 0.1), _rect(0.6, 0.1, 0.75, 0.38), _rect(0.85, 0.1, 1, 0.3)],
    "leaf": [("poly", 255, _LEAF), _line([(0, -0.8), (0, 0.8)], 0.06, 0)],
    "apple": [_disc(0, 0.15, 0.78), _line([(0, -0.55), (0.12, -1)], 0.12), _disc(0.35, -0.78, 0.22, ry=0.12)],
    "cherry": [_disc(-0.45, 0.55, 0.36), _disc(0.45, 0.55, 0.36), _line([(-0.4, 0.25), (0.1, -0.95), (0.4, 0.25)], 0.09)],
    "snowman": [_disc(0, 0.5, 0.5), _disc(0, -0.2, 0.36), _disc(0, -0.72, 0.25)],
    "lightning": [("poly", 255, [(0.2, -1), (-0.5, 0.1), (-0.05, 0.1), (-0.3, 1), (0.55, -0.2), (0.1, -0.2), (0.45, -1)])],
    "bell": [("poly", 255, _BELL), _disc(0, 0.75, 0.2)],
    "flag": [_line([(-0.8, -1), (-0.8, 1)], 0.14), _rect(-0.8, -1, 0.85, -0.1)],
    "envelope": [_rect(-1, -0.65, 1, 0.65), _line([(-1, -0.65), (0, 0.15), (1, -0.65)], 0.1, 0)],
    "window": [_rect(-0.85, -0.85, 0.85, 0.85), _rect(-0.65, -0.65, -0.08, -0.08, 0), _rect(0.08, -0.65, 0.65, -0.08, 0), _rect(-0.65, 0.08, -0.08, 0.65, 0), _rect(0.08, 0.08, 0.65, 0.65, 0)],
    "table": [_rect(-1, -0.45, 1, -0.2), _rect(-0.85, -0.2, -0.65, 0.9), _rect(0.65, -0.2, 0.85, 0.9)],
}  # fmt: skip

#: the 48 label classes of the things world
THINGS: tuple[str, ...] = tuple(DRAWINGS)

"""Captions of things-world scenes: every thing named, attributes in varied subsets, templates and orders.

:func:`caption` writes one short sentence ("two small striped red stars next to a house",
"a fish which is blue, and a tree"); :func:`long_caption` writes several sentences (up to about 70
tokens), so a text tower with a 77-token context also learns its later positions, which prompt
learning's long contexts use.
"""

from __future__ import annotations

import random

from tailorgen.testing.things import Item, Scene

__all__ = ["caption", "long_caption", "phrase", "plural"]

_IRREGULAR = {"leaf": "leaves", "fish": "fish", "snowman": "snowmen"}
_COUNTS = {1: "one", 2: "two", 3: "three"}
_PATTERN_ADJ = {"striped": "striped", "dotted": "dotted", "outlined": "outlined"}
_PATTERN_WITH = {"striped": "with stripes", "dotted": "with dots", "outlined": "drawn as an outline"}
_SIZE_WORDS = {"small": ("small", "little", "tiny"), "big": ("big", "large")}
_JOINERS = (" and ", " next to ", " beside ", " with ", " near ", " above ", " below ", " left of ")
_OPENERS = ("", "", "", "a photo of ", "a picture of ", "an image of ", "a drawing of ", "there is ")
_OPENERS += ("this shows ", "a simple drawing of ", "a clipart of ", "look: ")
_BACKGROUNDS = {"plain": "plain", "gradient": "a gradient", "stripes": "striped", "checker": "checkered"}
_FILLERS = (
    "this is a simple picture made for a children's book.",
    "someone drew this with a few flat colours.",
    "a small and simple image.",
    "the picture is not very sharp.",
    "nothing else is in the picture.",
    "it looks like a sticker.",
    "an example from a big collection of drawings.",
    "a quick sketch.",
)


def plural(name: str) -> str:
    if name in _IRREGULAR:
        return _IRREGULAR[name]
    if name.endswith(("s", "sh", "ch", "x")):
        return name + "es"
    if name.endswith("y") and name[-2] not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


def _article(words: str) -> str:
    return ("an " if words[0] in "aeiou" else "a ") + words


def phrase(rng: random.Random, item: Item) -> str:
    """The item's noun phrase with a random subset of its attributes in one of several word orders."""
    count = len(item.copies)
    noun = plural(item.thing) if count > 1 else item.thing
    front = []
    if rng.random() < 0.35:
        front.append(rng.choice(_SIZE_WORDS[item.size]))
    pattern_said = item.pattern != "solid" and rng.random() < 0.5
    after = ""
    if pattern_said and rng.random() < 0.5:
        after = " " + _PATTERN_WITH[item.pattern]
    elif pattern_said:
        front.append(_PATTERN_ADJ[item.pattern])
    colour_after = rng.random() < 0.15
    if rng.random() < 0.7 and not colour_after:
        front.append(item.colour)
    words = " ".join([*front, noun])
    if count > 1 and rng.random() < 0.8:
        head = f"{_COUNTS[count]} {words}"
    elif count > 1:
        head = rng.choice(("some ", "several ", "")) + words
    else:
        head = _article(words) if rng.random() < 0.85 else "the " + words
    if colour_after:
        head += f" which {'are' if count > 1 else 'is'} {item.colour}"
    return head + after


def _list(rng: random.Random, phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    if len(phrases) == 2:
        return phrases[0] + rng.choice(_JOINERS) + phrases[1]
    return ", ".join(phrases[:-1]) + rng.choice((" and ", ", and ", ", ")) + phrases[-1]


def caption(rng: random.Random, scene: Scene) -> str:
    """One sentence naming every thing of ``scene`` (order shuffled)."""
    items = list(scene.items)
    rng.shuffle(items)
    body = _list(rng, [phrase(rng, item) for item in items])
    opener = rng.choice(_OPENERS)
    if opener == "there is " and len(items[0].copies) > 1:
        opener = "there are "
    text = opener + body
    if rng.random() < 0.15:
        text += f" on a {_BACKGROUNDS[scene.background[0]].removeprefix('a ')} background"
    return text + ("." if rng.random() < 0.5 else "")


def long_caption(rng: random.Random, scene: Scene) -> str:
    """Several sentences: fillers, one sentence per thing, the background (about 30-70 tokens)."""
    items = list(scene.items)
    rng.shuffle(items)
    sentences = rng.sample(_FILLERS, rng.randint(1, 3))
    for item in items:
        form, verb = rng.random(), "are" if len(item.copies) > 1 else "is"
        if form < 0.4:
            sentences.append(f"there {verb} {phrase(rng, item)}.")
        elif form < 0.7:
            sentences.append(f"we can see {phrase(rng, item)}.")
        else:
            sentences.append(f"{phrase(rng, item)} {verb} in the picture.")
    sentences.append(f"the background is {_BACKGROUNDS[scene.background[0]]}.")
    if rng.random() < 0.5:
        rng.shuffle(sentences)
    return " ".join(sentences)

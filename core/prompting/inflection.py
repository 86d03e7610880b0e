"""Singular and plural forms of English nouns, for matching label names in prompts.

Used so that a prompt saying "two dogs" counts for the label "dog" and "a bird" for "birds". The
``inflect`` library does the general English rules (it knows "cookies" -> "cookie" but "ponies" ->
"pony", "lenses" -> "lens" but "buses" -> "bus"); the tables below override it where a label needs
another answer (mass nouns, words that only look plural, Latin plurals it does not know).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

__all__ = ["noun_forms", "pluralize", "singularize"]

_IRREGULAR = {
    "person": "people",
    "man": "men",
    "woman": "women",
    "child": "children",
    "mouse": "mice",
    "goose": "geese",
    "foot": "feet",
    "tooth": "teeth",
    "ox": "oxen",
    "knife": "knives",
    "leaf": "leaves",
    "wolf": "wolves",
    "shelf": "shelves",
    "loaf": "loaves",
    "calf": "calves",
    "half": "halves",
    "scarf": "scarves",
    "life": "lives",
    "wife": "wives",
    "thief": "thieves",
    "potato": "potatoes",
    "tomato": "tomatoes",
    "hero": "heroes",
    "cactus": "cacti",
    "bus": "buses",
    # singular words ending in "s" that inflect would shorten ("len", "canva", "ga")
    "lens": "lenses",
    "canvas": "canvases",
    "gas": "gases",
}
_SINGULAR = {plural: singular for singular, plural in _IRREGULAR.items()}
#: the same word for one and many (or only ever plural)
_INVARIANT = frozenset(
    {
        "sheep",
        "fish",
        "deer",
        "elk",
        "moose",
        "bison",
        "aircraft",
        "series",
        "species",
        "scissors",
        "skis",
        "pants",
        "jeans",
        "shorts",
        "news",
        "sports",
        "police",
        "military",
        "food",
        "water",
        "snow",
        "sand",
        "grass",
        "fire",
        "frost",
        "furniture",
        "equipment",
        "luggage",
        "broccoli",
    }
)


#: singular endings in "s" ("glass", "octopus", "famous", "tennis"); inflect would strip the "s"
_SINGULAR_ENDINGS = ("ss", "us", "is")


@cache
def _engine() -> Any:
    # imported on first use: inflect 7 type-checks its own functions at import (about 2 s of CPU)
    import inflect

    return inflect.engine()


def _regular_plural(word: str) -> str:
    """The plain English rule, also accepted beside inflect's answer ("volcanos", "golfs")."""
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def pluralize(word: str) -> str:
    """The plural of a lower-case singular noun (``"knife" -> "knives"``, ``"bus" -> "buses"``)."""
    if word in _INVARIANT or word in _SINGULAR:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    return str(_engine().plural_noun(word)) or _regular_plural(word)


def singularize(word: str) -> str:
    """The singular of a lower-case noun (``"birds" -> "bird"``, ``"cookies" -> "cookie"``)."""
    if word in _INVARIANT or word in _IRREGULAR:
        return word
    if word in _SINGULAR:
        return _SINGULAR[word]
    if not word.endswith("s") or word.endswith(_SINGULAR_ENDINGS):
        return word
    return _engine().singular_noun(word) or word


def noun_forms(word: str) -> set[str]:
    """The word itself, its singular and its plurals (lower case)."""
    lower = word.lower()
    singular = singularize(lower)
    forms = {lower, singular, pluralize(singular)}
    if singular not in _INVARIANT and singular not in _IRREGULAR:
        forms.add(_regular_plural(singular))
    return forms

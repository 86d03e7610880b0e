"""Singular and plural forms of English nouns: enough rules for label names, no dependency.

Used so that a prompt saying "two dogs" counts for the label "dog" and "a bird" for "birds".
"""

from __future__ import annotations

import re

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


def pluralize(word: str) -> str:
    """The plural of a lower-case noun (``"knife" -> "knives"``, ``"bus" -> "buses"``)."""
    if word in _INVARIANT or word in _SINGULAR:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def singularize(word: str) -> str:
    """The singular of a lower-case noun (``"birds" -> "bird"``, ``"ponies" -> "pony"``)."""
    if word in _INVARIANT or word in _IRREGULAR:
        return word
    if word in _SINGULAR:
        return _SINGULAR[word]
    if re.search(r"[^aeiou]ies$", word):
        return word[:-3] + "y"
    if re.search(r"(ss|x|z|ch|sh)es$", word):
        return word[:-2]
    if re.search(r"[^s]s$", word) and not word.endswith(("us", "is")):
        return word[:-1]
    return word


def noun_forms(word: str) -> set[str]:
    """The word itself, its plural and its singular (lower case)."""
    lower = word.lower()
    return {lower, pluralize(lower), singularize(lower), pluralize(singularize(lower))}

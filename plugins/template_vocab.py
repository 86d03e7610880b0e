"""The vocabularies of the ``template`` prompt writer, read from ``template_vocab.toml`` (plain data).

Edit the TOML file, not this module: it only gives each list a typed name.
"""

from __future__ import annotations

import tomllib
from importlib import resources

__all__ = [
    "ADJECTIVES",
    "DAYPARTS",
    "DETAIL_OBJECTS",
    "DETAIL_PREPOSITIONS",
    "DETERMINERS",
    "JOINERS",
    "LIGHTING",
    "MASS_NOUNS",
    "OPENERS",
    "OPENER_ADJECTIVES",
    "OPENER_LINKS",
    "OPENER_NOUNS",
    "PLACES",
    "PLACE_ADJECTIVES",
    "PLURAL_DETERMINERS",
    "POSES",
    "STYLES",
    "TIME_LEADS",
    "TONE_ADJECTIVES",
    "TONE_NOUNS",
    "VIEWPOINTS",
    "WEATHER",
]

_DATA = tomllib.loads(resources.files("tailorgen.plugins").joinpath("template_vocab.toml").read_text("utf-8"))

OPENERS: tuple[str, ...] = tuple(_DATA["openers"])
JOINERS: tuple[str, ...] = tuple(_DATA["joiners"])
POSES: tuple[str, ...] = tuple(_DATA["poses"])
ADJECTIVES: tuple[str, ...] = tuple(_DATA["adjectives"])
PLACE_ADJECTIVES: tuple[str, ...] = tuple(_DATA["place_adjectives"])
PLACES: tuple[tuple[str, str], ...] = tuple((p, w) for p, w in _DATA["places"])
LIGHTING: tuple[str, ...] = tuple(_DATA["lighting"])
STYLES: tuple[str, ...] = tuple(_DATA["styles"])
VIEWPOINTS: tuple[str, ...] = tuple(_DATA["viewpoints"])
DETAIL_OBJECTS: tuple[str, ...] = tuple(_DATA["detail_objects"])
DETAIL_PREPOSITIONS: tuple[str, ...] = tuple(_DATA["detail_prepositions"])
OPENER_ADJECTIVES: tuple[str, ...] = tuple(_DATA["opener_adjectives"])
OPENER_LINKS: tuple[str, ...] = tuple(_DATA["opener_links"])
OPENER_NOUNS: tuple[str, ...] = tuple(_DATA["opener_nouns"])
WEATHER: tuple[str, ...] = tuple(_DATA["weather"])
TIME_LEADS: tuple[str, ...] = tuple(_DATA["time_leads"])
DAYPARTS: tuple[str, ...] = tuple(_DATA["dayparts"])
TONE_ADJECTIVES: tuple[str, ...] = tuple(_DATA["tone_adjectives"])
TONE_NOUNS: tuple[str, ...] = tuple(_DATA["tone_nouns"])
DETERMINERS: tuple[str, ...] = tuple(_DATA["determiners"])
PLURAL_DETERMINERS: tuple[str, ...] = tuple(_DATA["plural_determiners"])
MASS_NOUNS: frozenset[str] = frozenset(_DATA["mass_nouns"])

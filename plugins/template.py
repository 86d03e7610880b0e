"""``template`` prompt writer: seeded scene compositions, no model needed.

Each prompt picks a template and fills it from scene, setting, lighting, style and viewpoint
vocabularies (:mod:`tailorgen.plugins.template_vocab`), so a run without an LLM still gets varied
prompts; it also fills label sets an LLM left short.
"""

from __future__ import annotations

import random
import string
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tailorgen.plugins import template_vocab as vocab
from tailorgen.prompting.inflection import pluralize, singularize
from tailorgen.prompting.request import PromptRequest
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import PromptWriter

__all__ = ["DEFAULT_TEMPLATES", "TemplateOptions", "TemplateWriter"]

DEFAULT_TEMPLATES: tuple[str, ...] = (
    "{opener} {subject} {setting}, {lighting}, {style}",
    "{subject} {setting} {detail}, {viewpoint}, {style}",
    "{opener} {subject} {setting} {lighting}, {viewpoint}",
    "{opener} {subject} {detail} {setting}, {style}",
    "{subject} {lighting} {setting}, {viewpoint}, {style}",
    "{subject} {setting} {detail} {lighting}",
    "{viewpoint}, {subject} {setting} {detail}",
    "{style} {opener_noun} of {subject} {setting} {lighting}",
    "{lighting}, {subject} {setting}, {viewpoint}",
    "{opener} {subject} {setting} {detail}, {style}, {viewpoint}",
)
_FIELDS = {"opener", "opener_noun", "subject", "setting", "lighting", "style", "viewpoint", "detail"}
_THE_NOUNS = frozenset({"sky", "moon", "sun", "ocean", "sea"})


class TemplateOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    templates: tuple[str, ...] = Field(
        DEFAULT_TEMPLATES,
        min_length=1,
        description=f"Scene templates; fields: {', '.join(sorted(_FIELDS))} ({{subject}} holds the labels).",
    )
    adjective_rate: float = Field(0.5, ge=0, le=1, description="Chance that a label gets an adjective.")
    pose_rate: float = Field(
        0.3, ge=0, le=1, description="Chance that a label gets a pose word (resting, ...)."
    )
    oversample: int = Field(
        3, ge=1, description="Candidates written per prompt asked (validation drops some)."
    )

    @field_validator("templates")
    @classmethod
    def _known_fields(cls, templates: tuple[str, ...]) -> tuple[str, ...]:
        for template in templates:
            used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
            unknown = used - _FIELDS
            if unknown:
                raise ValueError(f"template {template!r} uses unknown field(s) {sorted(unknown)}")
            if "subject" not in used:
                raise ValueError(f"template {template!r} lacks {{subject}}, so its prompts name no label")
        return templates


def _is_plural(word: str) -> bool:
    """Plural labels ("birds", "scissors", "sports") take no "a"; "bus" and "glass" are singular."""
    return singularize(word) != word or (
        word.endswith("s") and not word.endswith("ss") and pluralize(word) == word
    )


def _with_determiner(rng: random.Random, phrase: str, label: str) -> str:
    """``phrase`` (the label, maybe with an adjective) behind a fitting, randomly chosen determiner."""
    lower = label.lower()
    last = lower.split()[-1]
    if lower in _THE_NOUNS:
        determiner = "the"
    elif last.endswith("ing"):
        determiner = ""
    elif lower in vocab.MASS_NOUNS or _is_plural(last):
        determiner = rng.choice(vocab.PLURAL_DETERMINERS)
    else:
        determiner = rng.choice(vocab.DETERMINERS)
    if determiner == "a" and phrase[:1].lower() in "aeiou":
        determiner = "an"
    return f"{determiner} {phrase}".strip()


class TemplateWriter(PromptWriter):
    """Composes prompts from templates and scene vocabularies (no model; seeded)."""

    name: ClassVar[str] = "template"
    description: ClassVar[str] = "Seeded template prompts from scene/setting/style/viewpoint vocabularies."
    Options: ClassVar[type[BaseModel]] = TemplateOptions
    options: TemplateOptions

    def write(self, requests: list[PromptRequest]) -> list[list[str]]:
        return [self.compose(request) for request in requests]

    def compose(self, request: PromptRequest) -> list[str]:
        """``count * oversample`` prompts for one request, depending only on its seed and prompt names."""
        rng = random.Random(request.seed)
        names = request.prompt_names
        return [self._prompt(rng, names) for _ in range(request.count * self.options.oversample)]

    def _noun_phrase(self, rng: random.Random, label: str) -> str:
        phrase = label
        if label.lower() not in _THE_NOUNS and rng.random() < self.options.adjective_rate:
            phrase = f"{rng.choice(vocab.ADJECTIVES)} {label}"
        phrase = _with_determiner(rng, phrase, label)
        if rng.random() < self.options.pose_rate:
            phrase = f"{phrase} {rng.choice(vocab.POSES)}"
        return phrase

    def _subject(self, rng: random.Random, labels: tuple[str, ...]) -> str:
        phrases = [self._noun_phrase(rng, label) for label in rng.sample(labels, len(labels))]
        if len(phrases) == 1:
            return phrases[0]
        return f"{', '.join(phrases[:-1])} {rng.choice(vocab.JOINERS)} {phrases[-1]}"

    # Fixed phrases repeat their word pairs in every prompt: mostly compose them from words instead.
    def _opener(self, rng: random.Random) -> str:
        if rng.random() < 0.25:
            return rng.choice(vocab.OPENERS)
        adjective = rng.choice(vocab.OPENER_ADJECTIVES)
        link = rng.choice(vocab.OPENER_LINKS)
        return (
            f"{'an' if adjective[0] in 'aeiou' else 'a'} {adjective} {rng.choice(vocab.OPENER_NOUNS)} {link}"
        )

    def _lighting(self, rng: random.Random) -> str:
        if rng.random() < 0.25:
            return rng.choice(vocab.LIGHTING)
        return f"{rng.choice(vocab.TIME_LEADS)} {rng.choice(vocab.WEATHER)} {rng.choice(vocab.DAYPARTS)}"

    def _style(self, rng: random.Random) -> str:
        if rng.random() < 0.25:
            return rng.choice(vocab.STYLES)
        return f"{rng.choice(vocab.TONE_ADJECTIVES)} {rng.choice(vocab.TONE_NOUNS)}"

    def _setting(self, rng: random.Random) -> str:
        preposition, place = rng.choice(vocab.PLACES)
        return (
            f"{preposition} {_with_determiner(rng, f'{rng.choice(vocab.PLACE_ADJECTIVES)} {place}', place)}"
        )

    def _detail(self, rng: random.Random) -> str:
        return f"{rng.choice(vocab.DETAIL_PREPOSITIONS)} {rng.choice(vocab.ADJECTIVES)} {rng.choice(vocab.DETAIL_OBJECTS)}"

    def _prompt(self, rng: random.Random, labels: tuple[str, ...]) -> str:
        text = rng.choice(self.options.templates).format(
            opener=self._opener(rng),
            opener_noun=rng.choice(vocab.OPENER_NOUNS),
            subject=self._subject(rng, labels),
            setting=self._setting(rng),
            lighting=self._lighting(rng),
            style=self._style(rng),
            viewpoint=rng.choice(vocab.VIEWPOINTS),
            detail=self._detail(rng),
        )
        return text[:1].upper() + text[1:]


@hookimpl
def register_prompt_writers(register):  # type: ignore[no-untyped-def]
    register(TemplateWriter)

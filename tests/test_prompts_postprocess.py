"""The shared post-processor on realistic messy LLM replies."""

from __future__ import annotations

import pytest
from tailorgen.data.labels import load_label_set
from tailorgen.prompting.inflection import pluralize, singularize
from tailorgen.prompting.matching import LabelMatcher
from tailorgen.prompting.postprocess import PromptValidator, clean_line, split_reply

LABELS = load_label_set(
    {
        "labels": [
            {"name": "dog"},
            {"name": "cat", "synonyms": ["kitten"]},
            {"name": "knife"},
            {"name": "teddy bear"},
            {"name": "birds"},
            {"name": "person"},
            {"name": "bus"},
        ]
    }
)

LLAMA_REPLY = """\
Sure! Here are 10 different one-phrase descriptions of a scene containing a dog next to a cat:

1. A fluffy golden dog lying next to a sleepy cat on a sunny living room carpet.
2. "A small black cat curled up next to a big brown dog on a wooden porch at dusk." (17 words)
3. **Scene 3:** A playful puppy dog chasing a curious kitten through a backyard garden full of flowers.
4. A dog next to a cat.
5. A parrot sitting on a branch above a quiet pond in the middle of a green forest.
6. A fluffy golden dog lying next to a sleepy cat on a sunny living room carpet.
7. A fluffy golden dog lying next to a sleepy cat on the sunny living room carpet.

I hope these descriptions help you generate the images you need! Let me know if you want more.
"""


def test_split_reply_strips_preamble_numbering_quotes_and_remarks() -> None:
    lines = split_reply(LLAMA_REPLY)
    assert lines[0] == "A fluffy golden dog lying next to a sleepy cat on a sunny living room carpet"
    assert lines[1] == "A small black cat curled up next to a big brown dog on a wooden porch at dusk"
    assert lines[2].startswith("A playful puppy dog chasing")
    assert len(lines) == 7
    assert not any(line.lower().startswith(("sure", "i hope", "here are")) for line in lines)


def test_validator_reasons_on_messy_reply() -> None:
    validator = PromptValidator(LABELS, min_words=10, max_words=60)
    verdicts = validator.check(split_reply(LLAMA_REPLY), ("dog", "cat"))
    assert [c.reason for c in verdicts] == [
        None,
        None,
        None,  # "kitten" is a synonym of cat
        "too-short",
        "missing-label",
        "duplicate",
        "near-duplicate",
    ]
    assert [c.accepted for c in verdicts] == [True, True, True, False, False, False, False]


def test_inline_numbered_list_and_bullets_are_split() -> None:
    reply = "Here you go: 1. a dog on a beach next to a cat. 2. a cat and a dog in a kitchen at night"
    assert split_reply(reply) == ["a dog on a beach next to a cat", "a cat and a dog in a kitchen at night"]
    bullets = "- a dog in snow\n* a cat at home\n• a bus in rain\n(a) a knife on a board"
    assert split_reply(bullets) == ["a dog in snow", "a cat at home", "a bus in rain", "a knife on a board"]


def test_clean_line_drops_control_characters_and_word_counts() -> None:
    assert clean_line("3) \u201cA cat\x1b on a mat.\u201d [5 words]") == "A cat on a mat"


@pytest.mark.parametrize(
    ("text", "label", "found"),
    [
        ("two dogs in a park", "dog", True),
        ("kitchen knives on a board", "knife", True),
        ("a bird on a wire", "birds", True),
        ("people waiting", "person", True),
        ("three buses in traffic", "bus", True),
        ("a teddy-bear on a bed", "teddy bear", True),
        ("two teddy bears", "teddy bear", True),
        ("a category of things", "cat", False),
        ("a dogma", "dog", False),
        ("a kitten asleep", "cat", True),
    ],
)
def test_label_matching_counts_plurals_and_synonyms(text: str, label: str, found: bool) -> None:
    assert LabelMatcher(LABELS).mentions(text, label) is found


@pytest.mark.parametrize(
    ("singular", "plural"),
    [
        ("dog", "dogs"),
        ("bus", "buses"),
        ("knife", "knives"),
        ("pony", "ponies"),
        ("person", "people"),
        ("sheep", "sheep"),
        ("glass", "glasses"),
        ("box", "boxes"),
        # the naive rules gave "cooky", "movy", "lense" and "ty"
        ("cookie", "cookies"),
        ("movie", "movies"),
        ("lens", "lenses"),
        ("tie", "ties"),
        ("brownie", "brownies"),
        ("zombie", "zombies"),
        ("horse", "horses"),
        ("house", "houses"),
        ("vase", "vases"),
        ("sky", "skies"),
        ("valley", "valleys"),
        ("leaf", "leaves"),
        ("wolf", "wolves"),
        ("potato", "potatoes"),
        ("photo", "photos"),
        ("mouse", "mice"),
        ("child", "children"),
        ("canvas", "canvases"),
    ],
)
def test_inflection(singular: str, plural: str) -> None:
    assert pluralize(singular) == plural
    assert singularize(plural) == singular
    assert singularize(singular) == singular


def _plurals(words: str, suffix: str = "s") -> list[tuple[str, str]]:
    return [(word, word + suffix) for word in words.split()]


#: (singular, plural) of the COCO 48/17 labels (all 80), the NUS-WIDE unseen concepts and words the
#: naive rules got wrong; a label named either way must match a prompt using either form
WORD_LIST = [
    *_plurals(
        "bicycle car motorcycle airplane train truck boat bird cat dog horse "
        "cow elephant bear zebra giraffe backpack umbrella handbag tie suitcase "
        "frisbee snowboard kite skateboard surfboard bottle cup fork spoon bowl "
        "banana apple orange carrot pizza donut cake chair bed toilet tv laptop "
        "remote keyboard microwave oven toaster sink refrigerator book clock vase "
        "airport animal building castle cityscape cloud computer coral earthquake "
        "flag flower garden glacier harbor house lake map moon mountain ocean "
        "plane plant protest railroad rainbow reflection road rock sign statue "
        "street sun sunset swimmer tattoo temple tiger tower town toy tree valley "
        "vehicle waterfall wedding whale window cookie movie"
    ),
    *_plurals("bus bench sandwich couch toothbrush beach fox lens", "es"),
    ("person", "people"),
    ("knife", "knives"),
    ("mouse", "mice"),
    ("bridge", "bridges"),
    ("leaf", "leaves"),
    ("sky", "skies"),
    ("traffic light", "traffic lights"),
    ("fire hydrant", "fire hydrants"),
    ("stop sign", "stop signs"),
    ("parking meter", "parking meters"),
    ("sports ball", "sports balls"),
    ("baseball bat", "baseball bats"),
    ("baseball glove", "baseball gloves"),
    ("tennis racket", "tennis rackets"),
    ("wine glass", "wine glasses"),
    ("hot dog", "hot dogs"),
    ("potted plant", "potted plants"),
    ("dining table", "dining tables"),
    ("cell phone", "cell phones"),
    ("teddy bear", "teddy bears"),
    ("hair drier", "hair driers"),
]
#: one form for one and many (NUS-WIDE concepts, COCO's sheep/skis/scissors/broccoli)
SAME_WORD = (
    "sheep skis scissors broccoli elk fish fire food frost grass military police sand snow sports water"
)


def test_word_list_covers_the_paper_label_sets() -> None:
    listed = {w for pair in WORD_LIST for w in pair} | set(SAME_WORD.split())
    coco = load_label_set("coco-48-17").names
    nus = load_label_set("nus-wide-925-81").unseen
    gerunds = {"dancing", "running", "nighttime", "soccer", "surf"}  # no plural to match
    assert sorted(set(coco + nus) - listed - gerunds) == []


@pytest.mark.parametrize(("singular", "plural"), WORD_LIST)
def test_both_forms_match_a_label_named_either_way(singular: str, plural: str) -> None:
    for name in (singular, plural):
        matcher = LabelMatcher(load_label_set({"labels": [name]}))
        for form in (singular, plural):
            assert matcher.mentions(f"a photo of {form} in the park", name), (name, form)
        assert not matcher.mentions("a photo of the park", name)


@pytest.mark.parametrize("word", SAME_WORD.split())
def test_words_without_a_plural_match_themselves(word: str) -> None:
    assert LabelMatcher(load_label_set({"labels": [word]})).mentions(f"{word} in the park", word)


def test_length_bounds() -> None:
    validator = PromptValidator(LABELS, min_words=3, max_words=6)
    assert validator.verdict("a dog", ["dog"], []) == "too-short"
    assert validator.verdict("a dog on a long sunny beach", ["dog"], []) == "too-long"
    assert validator.verdict("a dog on sand", ["dog"], []) is None
    assert validator.verdict("", ["dog"], []) == "empty"

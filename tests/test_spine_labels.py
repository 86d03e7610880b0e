"""Label sets: presets, files and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tailorgen.data.labels import list_presets, load_label_set
from tailorgen.errors import ConfigError


def test_presets_shipped_with_the_package() -> None:
    assert {"coco-48-17", "nus-wide-925-81"} <= set(list_presets())
    coco = load_label_set("coco-48-17")
    assert (len(coco.seen), len(coco.unseen), len(coco.used)) == (48, 17, 65)
    assert coco.are_confusable("snowboard", "skateboard")
    assert coco.external_ids["airplane"] == 5
    nus = load_label_set("nus-wide-925-81")
    assert (len(nus.seen), len(nus.unseen), len(nus.names)) == (925, 81, 1006)
    assert nus.names[1004] == "zebra"
    assert nus.ancestors("cat") == ["animal"]


def test_txt_and_toml_files(tmp_path: Path) -> None:
    txt = tmp_path / "mine.txt"
    txt.write_text("# my labels\ncat [seen]\nairplane = aeroplane, plane\n\n")
    labels = load_label_set(txt)
    assert labels.name == "mine"
    assert labels.seen == ["cat"]
    assert labels.label("airplane").synonyms == ("aeroplane", "plane")
    toml = tmp_path / "mine.toml"
    toml.write_text('confusable = [["a", "b"]]\n[[labels]]\nname = "a"\n[[labels]]\nname = "b"\n')
    assert load_label_set(toml).are_confusable("b", "a")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"labels": ["cat", "cat"]}, "duplicate label names: cat"),
        ({"labels": ["cat", " "]}, "must not be empty"),
        ({"labels": ["cat"], "confusable": [["cat", "dog"]]}, "unknown label.*dog"),
        ({"labels": [{"name": "cat", "parents": ["animal"]}]}, "unknown parent.*animal"),
        ({"labels": [{"name": "cat", "split": "maybe"}]}, "labels.0.split"),
        ({"labels": []}, "at least one label"),
    ],
)
def test_bad_label_files(tmp_path: Path, content: dict, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigError, match=expected):
        load_label_set(path)


def test_unknown_preset_lists_presets() -> None:
    with pytest.raises(ConfigError, match="presets: coco-48-17"):
        load_label_set("coco-99")


def test_broken_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{nope")
    with pytest.raises(ConfigError, match="not valid json"):
        load_label_set(path)


#: the reference implementation's NUS-WIDE hierarchy (the loose rule adds the parent of a target)
NUS_PARENT_GROUPS = {
    "person": {"military", "police", "swimmers"},
    "vehicle": {"train", "boats", "cars", "plane"},
    "sports": {"surf", "running", "dancing", "soccer"},
    "plants": {"flowers", "tree", "leaf"},
    "cityscape": {"garden", "street", "town"},
    "water": {"ocean", "lake", "waterfall"},
    "buildings": {"bridge", "airport", "tower", "temple", "house", "castle"},
    "animal": {
        "cat",
        "fox",
        "fish",
        "bear",
        "cow",
        "birds",
        "dog",
        "zebra",
        "tiger",
        "elk",
        "horses",
        "whales",
    },
}


def test_nus_preset_ships_the_reference_hierarchy() -> None:
    from click.testing import CliRunner
    from tailorgen.cli import cli

    result = CliRunner().invoke(cli, ["labels", "nus-wide-925-81", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    groups: dict[str, set[str]] = {}
    for label in shown["labels"]:
        for parent in label["parents"]:
            groups.setdefault(parent, set()).add(label["name"])
    assert groups == NUS_PARENT_GROUPS
    nus = load_label_set("nus-wide-925-81")
    # parents and children are all unseen labels of the set, so the filter can score and add them
    for parent, children in NUS_PARENT_GROUPS.items():
        assert {parent, *children} <= set(nus.unseen), parent
        for child in children:
            assert nus.ancestors(child) == [parent]

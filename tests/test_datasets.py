"""Dataset plugins (coco, nus-wide, imagefolder) on small hand-made layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tailorgen.data.labels import load_label_set
from tailorgen.errors import TailorgenError
from tailorgen.registry import create_dataset


def _image(path: Path, color: tuple[int, int, int] = (200, 10, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), color).save(path)
    return path


def _coco(root: Path, split: str = "val", categories: list[tuple[int, str]] | None = None) -> Path:
    categories = categories or [(1, "person"), (17, "cat"), (18, "dog")]
    for name in ("a.png", "b.png", "c.png"):
        _image(root / "images" / name)
    data = {
        "images": [
            {"id": 10, "file_name": "a.png"},
            {"id": 11, "file_name": "b.png"},
            {"id": 12, "file_name": "c.png"},
        ],
        "annotations": [
            {"id": 1, "image_id": 10, "category_id": 17},
            {"id": 2, "image_id": 10, "category_id": 17},  # two boxes of one category: still one positive
            {"id": 3, "image_id": 10, "category_id": 1},
            {"id": 4, "image_id": 12, "category_id": 18},
        ],
        "categories": [{"id": i, "name": n} for i, n in categories],
    }
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(data))
    return root


def test_coco_targets_by_name(tmp_path: Path) -> None:
    ds = create_dataset("coco", root=str(_coco(tmp_path))).load("val", ["dog", "cat", "person"])
    assert [p.name for p in ds.paths] == ["a.png", "b.png", "c.png"]
    assert ds.targets.tolist() == [[0, 1, 1], [0, 0, 0], [1, 0, 0]]
    image, target = ds[0]
    assert image.mode == "RGB"
    assert image.size == (8, 6)
    assert torch.equal(target, torch.tensor([0.0, 1.0, 1.0]))


def test_coco_maps_category_ids_through_label_set(tmp_path: Path) -> None:
    # category names in the file are wrong on purpose: the preset's external_ids (COCO ids) decide
    root = _coco(tmp_path, categories=[(1, "x"), (17, "y"), (18, "z")])
    labels = load_label_set("coco-48-17")
    ds = create_dataset("coco", root=str(root)).load("val", labels.names, label_set=labels)
    assert ds.targets.shape == (3, 80)
    cat, dog, person = labels.indices(["cat", "dog", "person"])
    assert ds.targets[:, [cat, dog, person]].tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]
    assert ds.targets.sum() == 3
    # labels of the set left out of label_names are dropped, not errors
    sub = create_dataset("coco", root=str(root)).load("val", ["dog"], label_set=labels)
    assert sub.targets.tolist() == [[0], [0], [1]]


def test_coco_unknown_label_is_an_error(tmp_path: Path) -> None:
    root = _coco(tmp_path, categories=[(1, "person"), (17, "cat"), (18, "hovercraft")])
    with pytest.raises(TailorgenError, match="hovercraft"):
        create_dataset("coco", root=str(root)).load("val", ["person", "cat"])
    no_ids = load_label_set("coco-48-17").model_copy(update={"external_ids": {}})
    with pytest.raises(TailorgenError, match="hovercraft"):
        create_dataset("coco", root=str(root)).load("val", no_ids.names, label_set=no_ids)
    # by id: COCO id 12 ("street sign") is not in the 80-category preset
    by_id = _coco(tmp_path / "ids", categories=[(1, "person"), (17, "cat"), (18, "dog"), (12, "street sign")])
    labels = load_label_set("coco-48-17")
    with pytest.raises(TailorgenError, match=r"street sign \(COCO id 12\)"):
        create_dataset("coco", root=str(by_id)).load("val", labels.names, label_set=labels)
    ds = create_dataset("coco", root=str(root), ignore_labels=["hovercraft"]).load("val", ["person", "cat"])
    assert ds.targets.sum() == 2


def test_coco_train_split_keeps_images_with_a_seen_label(tmp_path: Path) -> None:
    # a.png: cat + person, b.png: nothing, c.png: dog; person and dog are seen, cat unseen
    root = _coco(tmp_path, split="train2014")
    _coco(tmp_path, split="val2014")
    labels = load_label_set(
        {"labels": [{"name": "person", "split": "seen"}, "cat", {"name": "dog", "split": "seen"}]}
    )
    opts = {"root": str(root), "split_names": {"train": "train2014", "val": "val2014"}}

    def files(split: str, **extra: str) -> list[str]:
        data = create_dataset("coco", **opts, **extra).load(split, labels.seen, label_set=labels)
        return [p.name for p in data.paths]

    assert files("train") == ["a.png", "c.png"]  # the reference: at least one seen-label annotation
    assert files("train", train_images="seen-only") == ["c.png"]  # no unseen object either
    assert files("train", train_images="all") == ["a.png", "b.png", "c.png"]
    assert files("val") == ["a.png", "b.png", "c.png"]  # other splits are never filtered
    # without a label set the requested labels count as seen, the data's other labels as unseen
    plain = {**opts, "ignore_labels": ["cat"], "train_images": "seen-only"}
    kept = create_dataset("coco", **plain).load("train", ["person", "dog"])
    assert [p.name for p in kept.paths] == ["c.png"]
    assert kept.targets.tolist() == [[0.0, 1.0]]


def test_coco_split_names_and_missing_annotations(tmp_path: Path) -> None:
    root = _coco(tmp_path, split="val2014")
    ds = create_dataset("coco", root=str(root), split_names={"test": "val2014"}).load(
        "test", ["person", "cat", "dog"]
    )
    assert len(ds) == 3
    with pytest.raises(TailorgenError, match="instances_train.json"):
        create_dataset("coco", root=str(root)).load("train", ["person"])


def test_missing_image_fails_with_its_path_or_is_skipped(tmp_path: Path) -> None:
    root = _coco(tmp_path)
    (root / "images" / "b.png").unlink()
    with pytest.raises(TailorgenError, match=r"b\.png is missing"):
        create_dataset("coco", root=str(root)).load("val", ["person", "cat", "dog"])
    ds = create_dataset("coco", root=str(root), skip_bad_images=True).load("val", ["person", "cat", "dog"])
    assert [p.name for p in ds.paths] == ["a.png", "c.png"]
    assert ds.targets.tolist() == [[1, 1, 0], [0, 0, 1]]
    assert [(p.name, why) for p, why in ds.skipped] == [("b.png", "missing")]


def test_corrupt_image_fails_with_its_path_or_is_skipped(tmp_path: Path) -> None:
    root = _coco(tmp_path)
    (root / "images" / "c.png").write_bytes(b"not an image at all")
    opts = {"root": str(root)}
    ds = create_dataset("coco", **opts).load("val", ["person", "cat", "dog"])  # found when read
    with pytest.raises(TailorgenError, match=r"c\.png is corrupt"):
        ds[2]
    with pytest.raises(TailorgenError, match=r"c\.png is corrupt"):
        create_dataset("coco", **opts, verify_images=True).load("val", ["person", "cat", "dog"])
    ds = create_dataset("coco", **opts, skip_bad_images=True).load("val", ["person", "cat", "dog"])
    assert len(ds) == 2
    assert ds.skipped[0][0].name == "c.png"


def _nus(root: Path) -> Path:
    files = ["actor\\0001_1.jpg", "beach\\0002_2.jpg", "beach\\0003_3.jpg"]
    for f in files:
        _image(root / "Flickr" / f.replace("\\", "/"))
    (root / "ImageList").mkdir(parents=True)
    (root / "ImageList" / "TestImagelist.txt").write_text("\n".join(files) + "\n")
    (root / "NUS_WID_Tags").mkdir()
    (root / "NUS_WID_Tags" / "TagList1k.txt").write_text("actor\nbeach\nsunny\n")  # 'beach' is also a concept
    (root / "NUS_WID_Tags" / "Test_Tags1k.dat").write_text("1 1 0\n0 0 1\n0 1 1\n")
    (root / "Concepts81.txt").write_text("beach\nsky\n")
    (root / "TrainTestLabels").mkdir()
    (root / "TrainTestLabels" / "Labels_beach_Test.txt").write_text("0\n1\n1\n")
    (root / "TrainTestLabels" / "Labels_sky_Test.txt").write_text("1\n0\n1\n")
    return root


def test_nus_wide_layout(tmp_path: Path) -> None:
    root = _nus(tmp_path)
    names = ["actor", "sunny", "beach", "sky"]
    ds = create_dataset("nus-wide", root=str(root)).load("test", names)
    assert [p.relative_to(root).as_posix() for p in ds.paths] == [
        "Flickr/actor/0001_1.jpg",
        "Flickr/beach/0002_2.jpg",
        "Flickr/beach/0003_3.jpg",
    ]
    # beach comes from the human annotation (concept file), not the noisy tag column
    assert ds.targets.tolist() == [[1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 1, 1]]
    with pytest.raises(TailorgenError, match="sunny"):
        create_dataset("nus-wide", root=str(root)).load("test", ["actor", "beach", "sky"])


def test_nus_wide_row_count_mismatch(tmp_path: Path) -> None:
    root = _nus(tmp_path)
    (root / "TrainTestLabels" / "Labels_sky_Test.txt").write_text("1\n0\n")
    with pytest.raises(
        TailorgenError, match=r"Labels_sky_Test\.txt has 2 label rows but the image list has 3"
    ):
        create_dataset("nus-wide", root=str(root)).load("test", ["actor", "sunny", "beach", "sky"])


def _imagefolder(root: Path) -> Path:
    rows = [
        {"file_name": "images/0.png", "labels": ["cat", "dog"], "accepted": True},
        {"file_name": "images/1.png", "labels": ["cat"], "accepted": False},
        {"file_name": "images/2.png", "labels": "dog"},
    ]
    for r in rows:
        _image(root / r["file_name"])
    (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_imagefolder_accepted_only(tmp_path: Path) -> None:
    root = _imagefolder(tmp_path)
    ds = create_dataset("imagefolder", root=str(root)).load("train", ["dog", "cat", "bird"])
    assert [p.name for p in ds.paths] == ["0.png", "2.png"]
    assert ds.targets.tolist() == [[1, 1, 0], [1, 0, 0]]
    every = create_dataset("imagefolder", root=str(root), accepted_only=False).load("train", ["dog", "cat"])
    assert every.targets.tolist() == [[1, 1], [0, 1], [1, 0]]
    with pytest.raises(TailorgenError, match="cat"):
        create_dataset("imagefolder", root=str(root)).load("train", ["dog"])


def test_imagefolder_split_folders_and_column(tmp_path: Path) -> None:
    _imagefolder(tmp_path / "val")
    ds = create_dataset("imagefolder", root=str(tmp_path)).load("val", ["cat", "dog"])
    assert ds.paths[0] == tmp_path / "val" / "images" / "0.png"
    rows = [
        {"file_name": "a.png", "labels": ["cat"], "split": "train"},
        {"file_name": "b.png", "labels": [], "split": "test"},
    ]
    _image(tmp_path / "a.png"), _image(tmp_path / "b.png")
    (tmp_path / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    test = create_dataset("imagefolder", root=str(tmp_path)).load("test", ["cat"])
    assert [p.name for p in test.paths] == ["b.png"]
    assert test.targets.tolist() == [[0]]


def test_imagefolder_bad_metadata(tmp_path: Path) -> None:
    (tmp_path / "metadata.jsonl").write_text('{"file_name": "a.png", "labels": ["x"]}\n{oops\n')
    with pytest.raises(TailorgenError, match="line 2"):
        create_dataset("imagefolder", root=str(tmp_path)).load("train", ["x"])
    (tmp_path / "metadata.jsonl").write_text('{"file_name": "a.png", "tags": ["x"]}\n')
    with pytest.raises(TailorgenError, match="labels_column"):
        create_dataset("imagefolder", root=str(tmp_path)).load("train", ["x"])


def test_missing_root_is_clear(tmp_path: Path) -> None:
    with pytest.raises(TailorgenError, match="not a folder"):
        create_dataset("coco", root=str(tmp_path / "nope")).load("val", ["cat"])


def test_targets_are_float_and_paths_align(tmp_path: Path) -> None:
    ds = create_dataset("coco", root=str(_coco(tmp_path))).load("val", ["person", "cat", "dog"])
    assert ds.targets.dtype == torch.float32
    assert np.array_equal(ds.targets.numpy().sum(0), [1, 1, 1])


def test_tiny_coco_fixture(demo_models: dict[str, Path]) -> None:
    root = Path(demo_models["coco"])
    labels = load_label_set(root / "labels.json")
    coco = create_dataset("coco", root=str(root))
    test = coco.load("test", labels.used, labels)
    truth = json.loads((root / "annotations" / "instances_test.json").read_text())
    by_id = {i: name for name, i in labels.external_ids.items()} or {
        c["id"]: c["name"] for c in truth["categories"]
    }
    expected = {(a["image_id"], by_id[a["category_id"]]) for a in truth["annotations"]}
    ids = {im["file_name"]: im["id"] for im in truth["images"]}
    got = {
        (ids[p.name], labels.used[j])
        for p, row in zip(test.paths, test.targets, strict=True)
        for j in np.flatnonzero(row)
    }
    assert got == expected
    assert test[0][0].mode == "RGB"
    # train annotations carry seen labels only (the zero-shot protocol)
    train = coco.load("train", labels.used, labels)
    unseen = [labels.used.index(n) for n in labels.unseen]
    assert train.targets[:, unseen].sum() == 0
    assert train.targets.sum() > 0


def test_split_slices_hold_out_part_of_a_split(tmp_path: Path) -> None:
    root = _coco(tmp_path, split="train2014")
    names = ["person", "cat", "dog"]
    slices = {
        "train": "train2014[:2]",
        "val": "train2014[2:]",
        "head": "train2014[:34%]",
        "tail": "train2014[-1:]",
    }
    coco = create_dataset("coco", root=str(root), split_names=slices, train_images="all")
    train, val = coco.load("train", names), coco.load("val", names)
    assert [p.name for p in train.paths] + [p.name for p in val.paths] == ["a.png", "b.png", "c.png"]
    assert val.targets.tolist() == [[0, 0, 1]]
    assert [p.name for p in coco.load("head", names).paths] == ["a.png"]
    assert [p.name for p in coco.load("tail", names).paths] == ["c.png"]
    folder = _imagefolder(tmp_path / "synthetic")
    half = create_dataset(
        "imagefolder", root=str(folder), accepted_only=False, split_names={"val": "all[34%:]"}
    )
    assert [p.name for p in half.load("val", ["cat", "dog"]).paths] == ["1.png", "2.png"]
    with pytest.raises(TailorgenError, match="bad split"):
        create_dataset("coco", root=str(root), split_names={"val": "train2014[1]"}).load("val", names)

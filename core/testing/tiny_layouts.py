"""The tiny COCO data set rewritten in the other layouts dataset plugins read (imagefolder, NUS-WIDE)."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["coco_split_labels", "tiny_imagefolder", "tiny_nus_wide"]


def coco_split_labels(coco: Path, split: str) -> dict[str, list[str]]:
    """``{image file name: [label names]}`` of one split of a COCO-format folder."""
    data = json.loads((coco / "annotations" / f"instances_{split}.json").read_text())
    names = {c["id"]: c["name"] for c in data["categories"]}
    files = {im["id"]: im["file_name"] for im in data["images"]}
    labels: dict[str, list[str]] = {name: [] for name in files.values()}
    for ann in data["annotations"]:
        label = names[ann["category_id"]]
        if label not in labels[files[ann["image_id"]]]:
            labels[files[ann["image_id"]]].append(label)
    return labels


def tiny_imagefolder(coco: Path, out: Path, split: str = "test") -> Path:
    """A tailorgen synthetic-style folder: ``metadata.jsonl`` rows with file_name, labels, accepted."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "images").symlink_to((coco / "images").resolve(), target_is_directory=True)
    rows = [
        {"file_name": f"images/{file}", "labels": labels, "accepted": True, "split": split}
        for file, labels in coco_split_labels(coco, split).items()
    ]
    rows.append({"file_name": rows[0]["file_name"], "labels": ["cat"], "accepted": False, "split": split})
    (out / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out


def tiny_nus_wide(coco: Path, out: Path, split: str = "test") -> Path:
    """NUS-WIDE layout: seen labels as Flickr tags (a 0/1 matrix), unseen ones as concept label files."""
    label_set = json.loads((coco / "labels.json").read_text())["labels"]
    tags = [label["name"] for label in label_set if label["split"] == "seen"]
    concepts = [label["name"] for label in label_set if label["split"] != "seen"]
    labels = coco_split_labels(coco, split)
    files, name = list(labels), split.capitalize()
    for folder in ("ImageList", "NUS_WID_Tags", "TrainTestLabels"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    (out / "Flickr").symlink_to((coco / "images").resolve(), target_is_directory=True)
    (out / "ImageList" / f"{name}Imagelist.txt").write_text("".join(f"{f}\n" for f in files))
    (out / "NUS_WID_Tags" / "TagList1k.txt").write_text("".join(f"{t}\n" for t in tags))
    rows = [" ".join("1" if t in labels[f] else "0" for t in tags) for f in files]
    (out / "NUS_WID_Tags" / f"{name}_Tags1k.dat").write_text("".join(f"{r}\n" for r in rows))
    (out / "Concepts81.txt").write_text("".join(f"{c}\n" for c in concepts))
    for concept in concepts:
        column = "".join("1\n" if concept in labels[f] else "0\n" for f in files)
        (out / "TrainTestLabels" / f"Labels_{concept}_{name}.txt").write_text(column)
    return out

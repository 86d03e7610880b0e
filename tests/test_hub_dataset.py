"""The synthetic data set round-trips through the loopback Hub and loads with ``datasets``."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hub_helpers import TOKEN, USER, make_run
from tailorgen.io import read_jsonl
from tailorgen.testing.hub_server import HubServer

#: layout -> (parquet threshold, include rejected images)
LAYOUTS = {"imagefolder": (2000, False), "parquet": (3, True)}

# Runs in a fresh process: `datasets` reads HF_ENDPOINT when it is imported.
_LOAD = """
import hashlib, json, sys
from datasets import load_dataset

out = {}
for repo_id in sys.argv[1:]:
    data = load_dataset(repo_id, split="train")
    out[repo_id] = {
        "features": sorted(data.features),
        "rows": [{"seed": r["seed"], "labels": r["labels"], "accepted": r["accepted"], "prompt": r["prompt"],
                  "pixels": hashlib.sha256(r["image"].convert("RGB").tobytes()).hexdigest()} for r in data],
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, demo_models: dict[str, Path]) -> Path:
    return make_run(
        tmp_path_factory.mktemp("run") / "run", demo_models["clip-rn"], n_images=8, text_encoder=False
    )


def _pixels(path: Path) -> str:
    from PIL import Image

    return hashlib.sha256(Image.open(path).convert("RGB").tobytes()).hexdigest()


def _expected(run_dir: Path, include_rejected: bool) -> list[dict[str, Any]]:
    rows = read_jsonl(run_dir / "synthetic" / "metadata.jsonl")
    keys = ("seed", "labels", "accepted", "prompt")
    return [
        {**{k: r[k] for k in keys}, "pixels": _pixels(run_dir / "synthetic" / r["file_name"])}
        for r in rows
        if include_rejected or r["accepted"]
    ]


@pytest.fixture(scope="module")
def pushed(hub: HubServer, run_dir: Path) -> dict[str, dict[str, Any]]:
    """Both layouts published, then loaded by `datasets` in one fresh process."""
    from tailorgen.hub import publish

    out = {}
    with hub.client_env(token=TOKEN):
        for layout, (threshold, include_rejected) in LAYOUTS.items():
            out[layout] = publish(
                run_dir,
                f"{USER}/model-{layout}",
                dataset_repo_id=f"{USER}/synthetic-{layout}",
                include_rejected=include_rejected,
                parquet_threshold=threshold,
                parquet_shard_size=3,
            )["dataset"]
    repos = [f"{USER}/synthetic-{layout}" for layout in LAYOUTS]
    done = subprocess.run(
        [sys.executable, "-c", _LOAD, *repos],
        env=hub.env(None),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    return {layout: {**out[layout], "loaded": loaded[f"{USER}/synthetic-{layout}"]} for layout in LAYOUTS}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dataset_round_trips_and_loads_with_datasets(
    hub: HubServer, run_dir: Path, pushed: dict[str, dict[str, Any]], layout: str
) -> None:
    from huggingface_hub import DatasetCard

    repo_id = f"{USER}/synthetic-{layout}"
    with hub.client_env(token=None):
        card = DatasetCard.load(repo_id, repo_type="dataset")
    include_rejected = LAYOUTS[layout][1]
    expected = _expected(run_dir, include_rejected)
    result = pushed[layout]
    assert result["layout"] == layout
    assert result["images"] == len(expected) == (8 if include_rejected else 6)
    files = set(hub.store.repos[("dataset", repo_id)].resolve("main").files)
    if layout == "parquet":
        assert {f for f in files if f.startswith("data/")} == {
            f"data/train-0000{i}-of-00003.parquet" for i in range(3)
        }
        assert card.data.configs[0]["data_files"][0]["path"] == "data/train-*.parquet"
    else:
        assert "metadata.jsonl" in files
        assert len([f for f in files if f.startswith("images/")]) == len(expected)

    loaded = result["loaded"]
    assert loaded["features"] == ["accepted", "image", "labels", "prompt", "scores", "seed", "targets"]
    assert sorted(loaded["rows"], key=lambda r: r["seed"]) == expected  # same pixels, same metadata
    assert {"tailorgen", "synthetic-data", "multi-label"} <= set(card.data.tags)
    assert card.data.task_categories == ["image-classification"]
    assert card.data.size_categories == ["n<1K"]
    assert f"[{USER}/model-{layout}](https://huggingface.co/{USER}/model-{layout})" in card.text
    assert "The filter kept **6 of 8**" in card.text


def test_model_card_links_the_dataset(hub: HubServer, pushed: dict[str, dict[str, Any]]) -> None:
    from huggingface_hub import ModelCard

    with hub.client_env(token=None):
        card = ModelCard.load(f"{USER}/model-imagefolder")
    assert card.data.datasets == [f"{USER}/synthetic-imagefolder"]

"""Stage a run's synthetic data set for the Hub: an imagefolder, or Parquet shards when it is large.

Small sets stay browsable as files (``images/`` + ``metadata.jsonl``, the layout the generate stage
writes); beyond ``parquet_threshold`` images they become ``data/train-*.parquet`` shards with the
images embedded, which the Hub and ``datasets`` handle far better than thousands of small files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.hub.dataset_card import dataset_card
from tailorgen.hub.run_facts import RunFacts
from tailorgen.hub.upload import link_or_copy
from tailorgen.io import read_jsonl
from tailorgen.runtime.progress import progress

__all__ = ["stage_dataset"]

_GENERATE_HINT = "run the generate stage first (it writes synthetic/metadata.jsonl and synthetic/images/)"


def _rows(facts: RunFacts, include_rejected: bool) -> list[dict[str, Any]]:
    metadata = facts.synthetic_dir / "metadata.jsonl"
    rows = read_jsonl(metadata)
    if not rows:
        raise TailorgenError(
            f"no synthetic data set in {facts.run_dir} ({metadata} is missing or empty)", _GENERATE_HINT
        )
    rows = [r for r in rows if include_rejected or r.get("accepted")]
    if not rows:
        raise TailorgenError(
            f"{metadata}: the filter accepted no image, nothing to publish",
            "pass --include-rejected to publish every generated image",
        )
    for row in rows:
        _check_inside(facts.synthetic_dir, row.get("file_name"), metadata)
    missing = [
        r.get("file_name") for r in rows if not (facts.synthetic_dir / str(r.get("file_name"))).is_file()
    ]
    if missing:
        raise TailorgenError(
            f"{metadata} lists {len(missing)} missing image(s), e.g. {missing[0]}", _GENERATE_HINT
        )
    return rows


def _check_inside(folder: Path, file_name: Any, metadata: Path) -> None:
    """``file_name`` names a file under ``folder`` (an edited metadata.jsonl must not upload others)."""
    root = folder.resolve()
    inside = isinstance(file_name, str) and bool(file_name) and not Path(file_name).is_absolute()
    if inside and not (root / file_name).resolve().is_relative_to(root):
        inside = False
    if not inside:
        raise TailorgenError(
            f"{metadata}: file_name {file_name!r} is not a path inside {folder}",
            "each file_name must be relative to the synthetic folder (e.g. images/000001.png): fix or drop that line",
        )


def _imagefolder(facts: RunFacts, rows: list[dict[str, Any]], folder: Path) -> None:
    for row in progress(rows, desc="stage images"):
        link_or_copy(facts.synthetic_dir / row["file_name"], folder / row["file_name"])
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (folder / "metadata.jsonl").write_text(text, encoding="utf-8")


def _parquet(facts: RunFacts, rows: list[dict[str, Any]], folder: Path, shard_size: int) -> None:
    try:
        import datasets
    except ImportError:
        raise TailorgenError(
            "publishing a large data set as Parquet needs the `datasets` package",
            "pip install 'tailorgen[datasets]'",
        ) from None
    shards = math.ceil(len(rows) / shard_size)
    features = None
    for index in progress(range(shards), desc="write parquet shards"):
        chunk = [
            {
                "image": {
                    "bytes": (facts.synthetic_dir / r["file_name"]).read_bytes(),
                    "path": r["file_name"],
                },
                **{k: v for k, v in r.items() if k != "file_name"},
            }
            for r in rows[index * shard_size : (index + 1) * shard_size]
        ]
        table = datasets.Dataset.from_list(chunk, features=features)
        if features is None:  # infer once, then every shard gets the same schema
            table = table.cast_column("image", datasets.Image())
            features = table.features
        table.to_parquet(str(folder / "data" / f"train-{index:05d}-of-{shards:05d}.parquet"))


def stage_dataset(
    facts: RunFacts,
    folder: Path,
    repo_id: str,
    *,
    model_repo: str | None = None,
    include_rejected: bool = False,
    parquet_threshold: int = 2000,
    shard_size: int = 1000,
) -> dict[str, Any]:
    """Write the data set repo into ``folder``; returns its layout and size."""
    rows = _rows(facts, include_rejected)
    layout = "parquet" if len(rows) > parquet_threshold else "imagefolder"
    if layout == "parquet":
        (folder / "data").mkdir(parents=True, exist_ok=True)
        _parquet(facts, rows, folder, shard_size)
    else:
        _imagefolder(facts, rows, folder)
    card = dataset_card(facts, repo_id, rows, layout=layout, model_repo=model_repo)
    (folder / "README.md").write_text(str(card), encoding="utf-8")
    return {"layout": layout, "images": len(rows)}

"""The card of a published synthetic data set."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tailorgen.hub.card_text import generation_section, labels_section
from tailorgen.hub.licenses import data_license, generator_model
from tailorgen.hub.run_facts import RunFacts

__all__ = ["dataset_card", "size_category"]

_COLUMNS = {
    "image": "the generated image",
    "labels": "its label names (the target label set, plus extra positives under the loose rule)",
    "accepted": "whether the CLIP filter accepted it",
    "prompt": "the prompt the diffusion model was given",
    "seed": "the sampling seed (same seed + prompt + model = same image)",
    "targets": "the label set the prompt asked for",
    "round": "the generation round that drew it",
    "scores": "the filter's grouping-softmax score v for every label",
    "clip_logits": "CLIP's logit scale (100 by default) x cosine similarity to every label",
    "sha256": "digest of the image file",
}


def size_category(n: int) -> str:
    for limit, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return name
    return "n>1M"


def dataset_card(
    facts: RunFacts, repo_id: str, rows: list[dict[str, Any]], *, layout: str, model_repo: str | None = None
) -> Any:
    from huggingface_hub import DatasetCard, DatasetCardData

    generator = facts.plugin("generator")
    license_ = data_license(generator_model(generator.get("plugin"), generator.get("options") or {}))
    counts = Counter(name for row in rows for name in row.get("labels") or [])
    configs = None
    if layout == "parquet":
        configs = [
            {"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}
        ]
    data = DatasetCardData(
        pretty_name=f"tailorgen synthetic images: {facts.label_set.name}",
        task_categories=["image-classification"],
        task_ids=["multi-label-image-classification"],
        tags=["tailorgen", "synthetic-data", "multi-label", "zero-shot"],
        size_categories=[size_category(len(rows))],
        license=license_.license,
        configs=configs,
    )
    columns = sorted({k for row in rows for k in row} - {"file_name"} | {"image"})
    described = "\n".join(f"- `{c}`: {_COLUMNS.get(c, 'recorded by the generate stage')}" for c in columns)
    model_line = (
        f"\nA classifier trained on it: [{model_repo}](https://huggingface.co/{model_repo}).\n"
        if model_repo
        else ""
    )
    body = f"""
# Synthetic multi-label images for label set `{facts.label_set.name}`

{len(rows)} images generated and filtered by [tailorgen](https://github.com/tailorgen/tailorgen) to train a
zero-shot multi-label classifier for labels that have no annotated photos.{model_line}

## Labels

{labels_section(facts)}

Images per label: {", ".join(f"{name} {n}" for name, n in sorted(counts.items()))}.

## How the images were generated

{generation_section(facts)}

## Columns

{described}

## Use

```python
from datasets import load_dataset

data = load_dataset("{repo_id}", split="train")
```

Stored as {"Parquet shards (`data/`) with the images embedded" if layout == "parquet" else "an imagefolder: `images/` and `metadata.jsonl`"}.

## License

{license_.statement}

## Limitations

These are machine-generated images: they carry the diffusion model's and CLIP's biases, and a label
the filter accepted is not always visibly correct. Use them to train or probe classifiers, not as
ground truth about the world.
"""
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n{body}")

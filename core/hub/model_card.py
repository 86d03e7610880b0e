"""The model card of a published classifier, generated from its run directory."""

from __future__ import annotations

from typing import Any

from tailorgen.hub.card_text import generation_section, labels_section, public_name
from tailorgen.hub.eval_results import eval_dataset, eval_metrics, metrics_table
from tailorgen.hub.run_facts import RunFacts
from tailorgen.hub.usage import onnx_usage, python_usage

__all__ = ["TAGS", "base_model_id", "files_section", "model_card"]

TAGS = ["tailorgen", "zero-shot", "multi-label", "synthetic-data", "image-classification", "clip"]

_LIMITATIONS = """\
- The unseen labels were learned from synthetic images only: accuracy on real photos depends on how
  well the diffusion model renders them, and labels it draws poorly stay weak.
- CLIP's and the diffusion model's biases carry over (their training data, their notion of a label).
- `forward` scores the labels above with cached text features; other label names work through
  `Classifier.score(images, names)` but were never checked against data.
- Probabilities are not calibrated: choose a threshold per label on data from your own domain."""


def base_model_id(backbone: str) -> str | None:
    """The Hub id of the CLIP checkpoint a classifier started from (``None`` for a local folder)."""
    if backbone.startswith("hf-hub:"):
        return backbone.removeprefix("hf-hub:").split("@")[0] or None
    name, _, tag = backbone.partition(":")
    if not tag or backbone.startswith("local-dir:"):
        return None
    try:
        import open_clip

        hub_id = open_clip.get_pretrained_cfg(name, tag).get("hf_hub", "")
    except Exception:  # an unknown name: the card just has no base model
        return None
    return hub_id.strip("/") or None


#: repo file -> what it holds; the card's "Files" section links those the repo has
_FILES = {
    "config.json": "the network and its label names (what `Classifier.from_pretrained` rebuilds it from)",
    "model.safetensors": "every weight, the CLIP towers included",
    "labels.json": "the full label set: seen/unseen split, synonyms, parents",
    "eval.json": "the evaluation behind the table above",
    "model.onnx": "the exported ONNX graph (probabilities out, preprocessing in `config.json`)",
}

_OUTSIDE_RUN = (
    "This classifier was saved outside a tailorgen run (`Classifier.save_pretrained`), so how its "
    "training images were made is not recorded here."
)


def files_section(files: list[str]) -> str:
    """Links to the repo's files, only those in ``files`` (a card links nothing that does not exist)."""
    lines = [f"- [`{name}`]({name}): {what}" for name, what in _FILES.items() if name in files]
    return "\n".join(lines) or "-"


def _card_data(facts: RunFacts, repo_id: str, dataset_repo: str | None, base_model: str | None) -> Any:
    from huggingface_hub import EvalResult, ModelCardData

    name, split = eval_dataset(facts)
    results = [
        EvalResult(
            task_type="image-classification",
            task_name="Zero-shot multi-label image classification",
            dataset_type=name,
            dataset_name=name,
            dataset_split=split,
            metric_type=metric.split("/")[-1],
            metric_name=metric,
            metric_value=value,
        )
        for metric, value in eval_metrics(facts)
    ]
    labels = facts.label_set
    return ModelCardData(
        library_name="tailorgen",
        pipeline_tag="image-classification",
        tags=TAGS,
        license="apache-2.0",
        base_model=base_model,
        datasets=[dataset_repo] if dataset_repo else None,
        model_name=repo_id.rsplit("/", maxsplit=1)[-1],
        eval_results=results or None,
        # tailorgen's own keys: how `tailorgen hub list` shows the label set without downloads
        label_set={"name": labels.name, "seen": labels.seen, "unseen": labels.unseen},
    )


def model_card(
    facts: RunFacts,
    repo_id: str,
    *,
    dataset_repo: str | None = None,
    text_encoder_repo: str | None = None,
    has_onnx: bool = False,
    files: list[str] | None = None,
) -> Any:
    """The card; ``files``: what the repo folder holds (linked), ``None`` for the usual set of a run.

    Facts a classifier saved outside a run lacks (``facts.in_run`` false) are left out, not guessed.
    """
    from huggingface_hub import ModelCard

    if files is None:
        files = ["config.json", "model.safetensors", "labels.json"]
        files += ["eval.json"] * (facts.eval is not None) + ["model.onnx"] * has_onnx

    backbone = str(facts.classifier_config.get("backbone") or "")
    base_model = base_model_id(backbone)
    data = _card_data(facts, repo_id, dataset_repo, base_model)
    labels = facts.label_set
    name, split = eval_dataset(facts)
    started = (
        f"[{base_model}](https://huggingface.co/{base_model})"
        if base_model
        else f"`{public_name(backbone) or 'CLIP'}`"
    )
    data_link = (
        f" The training images are published as [{dataset_repo}](https://huggingface.co/datasets/{dataset_repo})."
        if dataset_repo
        else ""
    )
    body = f"""
# {repo_id.rsplit("/", maxsplit=1)[-1]}

A zero-shot multi-label image classifier for {len(labels.names)} labels ({len(labels.unseen)} of them
unseen: no real annotated image was used for them), trained with
[tailorgen](https://github.com/tailorgen/tailorgen) on tailored synthetic images. It is a DualCoOp-style
CLIP classifier (learned positive/negative prompt contexts, fusion head
`{facts.classifier_config.get("fusion_head", "none")}`) on the frozen CLIP checkpoint {started}.{data_link}

## Labels

{labels_section(facts)}

## Evaluation

{f"On `{name}` ({split} split):" if facts.eval else ""}

{metrics_table(facts) if facts.in_run else "No evaluation is recorded with this classifier."}

## How the training data were generated

{generation_section(facts, text_encoder_repo) if facts.in_run else _OUTSIDE_RUN}

## How to use

{python_usage(repo_id)}
{onnx_usage(repo_id) if has_onnx else ""}
## Files

{files_section(files)}

## Limitations

{_LIMITATIONS}

## Citation

```bibtex
@article{{zhang2024tailored,
  title   = {{Diverse and Tailored Image Generation for Zero-shot Multi-label Classification}},
  author  = {{Zhang, Kaixin and Yuan, Zhixiang and Huang, Tao}},
  journal = {{Knowledge-Based Systems}},
  year    = {{2024}}
}}
```
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")

"""Stage the files of a classifier repo: weights, config, label set, evaluation, ONNX graph, card."""

from __future__ import annotations

from pathlib import Path

from tailorgen.errors import TailorgenError
from tailorgen.hub.model_card import model_card
from tailorgen.hub.run_facts import RunFacts
from tailorgen.hub.upload import link_or_copy
from tailorgen.io import atomic_write_json

__all__ = ["LABELS_FILE", "stage_model"]

#: the full label set (splits, synonyms, parents) next to config.json's label names
LABELS_FILE = "labels.json"
_PICKLES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def stage_model(
    facts: RunFacts,
    folder: Path,
    repo_id: str,
    *,
    include_onnx: bool = False,
    dataset_repo: str | None = None,
    text_encoder_repo: str | None = None,
) -> list[str]:
    """Write the repo's files into ``folder``; returns their names."""
    source = facts.classifier_dir
    weights = source / "model.safetensors"
    if not weights.is_file():
        pickled = sorted(p.name for p in source.iterdir() if p.suffix in _PICKLES)
        raise TailorgenError(
            f"{source} has no model.safetensors"
            + (f" (found {', '.join(pickled)}; only safetensors are published)" if pickled else ""),
            "rerun the train stage to write classifier/model.safetensors",
        )
    link_or_copy(weights, folder / "model.safetensors")
    link_or_copy(source / "config.json", folder / "config.json")
    thresholds = source / "thresholds.json"  # per-label thresholds (tailorgen.classifier.thresholds)
    if thresholds.is_file():
        link_or_copy(thresholds, folder / thresholds.name)
    atomic_write_json(folder / LABELS_FILE, facts.label_set.model_dump(mode="json"))
    if facts.eval is not None:
        atomic_write_json(folder / "eval.json", facts.eval)
    if include_onnx:
        if not facts.onnx_path.is_file():
            raise TailorgenError(f"--include-onnx: {facts.onnx_path} not found", "run the export stage first")
        link_or_copy(facts.onnx_path, folder / "model.onnx")
    files = sorted(p.name for p in folder.iterdir())
    card = model_card(
        facts,
        repo_id,
        dataset_repo=dataset_repo,
        text_encoder_repo=text_encoder_repo,
        has_onnx=include_onnx,
        files=files,
    )
    (folder / "README.md").write_text(str(card), encoding="utf-8")
    return sorted(p.name for p in folder.iterdir())

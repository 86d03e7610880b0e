"""What a run directory says about a trained model: config, label set, data, evaluation.

Everything the model and data set cards print comes from here, read once; a missing optional
file (no eval, no export, no synthetic data) just leaves its field empty.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailorgen.data.labels import LabelSet, load_label_set
from tailorgen.errors import TailorgenError
from tailorgen.io import read_jsonl

__all__ = ["Acceptance", "RunFacts", "classifier_facts", "classifier_label_set", "read_run"]

_TRAIN_HINT = "run the train stage first (tailorgen run CONFIG --stages train)"


@dataclass(frozen=True)
class Acceptance:
    """How many generated images the filter kept, overall and per label (images whose targets include it)."""

    generated: int
    accepted: int
    per_label: dict[str, tuple[int, int]]

    @property
    def rate(self) -> float:
        return self.accepted / self.generated if self.generated else 0.0


@dataclass
class RunFacts:
    run_dir: Path
    classifier_config: dict[str, Any]
    label_set: LabelSet
    config: dict[str, Any] = field(default_factory=dict)
    eval: dict[str, Any] | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    prompts_report: dict[str, Any] = field(default_factory=dict)
    acceptance: Acceptance | None = None
    #: False for a classifier saved outside a run: nothing about its data or evaluation is known
    in_run: bool = True

    @property
    def classifier_dir(self) -> Path:
        return self.run_dir / "classifier"

    @property
    def onnx_path(self) -> Path:
        return self.run_dir / "export" / "model.onnx"

    @property
    def synthetic_dir(self) -> Path:
        return self.run_dir / "synthetic"

    @property
    def text_encoder_dir(self) -> Path:
        return self.run_dir / "finetune" / "text_encoder"

    def plugin(self, role: str) -> dict[str, Any]:
        """``{"plugin": ..., "options": {...}}`` of a role section of the run's config (``{}`` if none)."""
        spec = self.config.get(role)
        return spec if isinstance(spec, dict) else {}

    def stage_summary(self, stage: str) -> dict[str, Any]:
        entry = self.manifest.get("stages", {}).get(stage, {})
        summary = entry.get("summary") if isinstance(entry, dict) else None
        return summary if isinstance(summary, dict) else {}


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TailorgenError(f"cannot read {path}: {exc}") from None


def _label_set(config: dict[str, Any], classifier: dict[str, Any]) -> LabelSet:
    """The run's label set when it still loads and matches the classifier, else one from config.json."""
    names = list(classifier["label_names"])
    try:
        run_labels = load_label_set(config["labels"]) if "labels" in config else None
    except TailorgenError:
        run_labels = None
    if run_labels is not None and run_labels.names == names:
        return run_labels
    seen, unseen = set(classifier.get("seen") or []), set(classifier.get("unseen") or [])
    split = {n: "seen" if n in seen else "unseen" if n in unseen or not seen else "unused" for n in names}
    return LabelSet(
        name=run_labels.name if run_labels else "labels",
        labels=tuple({"name": n, "split": split[n]} for n in names),
    )  # type: ignore[arg-type]


def _acceptance(synthetic: Path) -> Acceptance | None:
    """From the generate stage's ``report.json``, else counted from the records (kept and rejected)."""
    report = synthetic / "report.json"
    if report.is_file():
        data = _json(report)
        summary, labels = data.get("summary", {}), data.get("labels", [])
        per_label = {row["label"]: (int(row["accepted"]), int(row["attempts"])) for row in labels}
        return Acceptance(int(summary.get("attempts", 0)), int(summary.get("accepted", 0)), per_label)
    rows = read_jsonl(synthetic / "metadata.jsonl") + read_jsonl(synthetic / "rejected.jsonl")
    if not rows:
        return None
    tried, kept = Counter[str](), Counter[str]()
    for row in rows:
        for name in row.get("targets") or row.get("labels") or []:
            tried[name] += 1
            kept[name] += bool(row.get("accepted"))
    accepted = sum(bool(r.get("accepted")) for r in rows)
    return Acceptance(len(rows), accepted, {n: (kept[n], tried[n]) for n in sorted(tried)})


def _run_config(root: Path) -> dict[str, Any]:
    """The run's ``config.toml`` (``{}`` without one)."""
    if not (root / "config.toml").is_file():
        return {}
    try:
        return tomllib.loads((root / "config.toml").read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TailorgenError(f"cannot read {root / 'config.toml'}: {exc}") from None


def read_run(run_dir: str | Path, classifier_config: dict[str, Any] | None = None) -> RunFacts:
    """Read a finished run directory (it needs at least ``classifier/``, unless ``classifier_config``
    gives the classifier's config: the train stage writes the card before ``classifier/`` exists)."""
    root = Path(run_dir)
    if not root.is_dir():
        raise TailorgenError(f"run directory {root} not found", "pass the --out folder of a finished run")
    classifier = classifier_config
    if classifier is None:
        config_json = root / "classifier" / "config.json"
        if not config_json.is_file():
            raise TailorgenError(f"{root} has no trained classifier ({config_json} is missing)", _TRAIN_HINT)
        classifier = _json(config_json)
        if not isinstance(classifier, dict) or not classifier.get("label_names"):
            raise TailorgenError(f"{config_json} has no label_names: not a tailorgen classifier", _TRAIN_HINT)
    config = _run_config(root)
    return RunFacts(
        run_dir=root,
        classifier_config=classifier,
        label_set=_label_set(config, classifier),
        config=config,
        eval=_json(root / "eval.json") if (root / "eval.json").is_file() else None,
        manifest=_json(root / "manifest.json") if (root / "manifest.json").is_file() else {},
        prompts_report=_json(root / "prompts_report.json")
        if (root / "prompts_report.json").is_file()
        else {},
        acceptance=_acceptance(root / "synthetic"),
    )


def _run_of(folder: Path, run_dir: str | Path | None) -> Path | None:
    """The run a classifier folder belongs to: ``run_dir`` if given, else the run ``folder`` is the
    ``classifier/`` of (beside a ``config.toml``), else ``None``."""
    if run_dir is not None:
        return Path(run_dir)
    return (
        folder.parent if folder.name == "classifier" and (folder.parent / "config.toml").is_file() else None
    )


def classifier_label_set(
    folder: str | Path, classifier_config: dict[str, Any], run_dir: str | Path | None = None
) -> LabelSet:
    """A saved classifier's label set: its run's (when it still matches), else one from its config."""
    run = _run_of(Path(folder), run_dir)
    try:
        config = _run_config(run) if run else {}
    except TailorgenError:  # an unreadable config.toml: the classifier's own label names still hold
        config = {}
    return _label_set(config, classifier_config)


def classifier_facts(
    folder: str | Path, classifier_config: dict[str, Any], run_dir: str | Path | None = None
) -> RunFacts:
    """What a saved classifier says about itself: its run's facts (``run_dir``, or the run ``folder``
    is the ``classifier/`` of), else only its config (``in_run`` false: no data or evaluation)."""
    run = _run_of(Path(folder), run_dir)
    if run is not None:
        return read_run(run, classifier_config)
    return RunFacts(
        run_dir=Path(folder),
        classifier_config=classifier_config,
        label_set=_label_set({}, classifier_config),
        in_run=False,
    )

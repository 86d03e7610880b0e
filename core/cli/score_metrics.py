"""``tailorgen score-metrics``: mAP and F1@K of any model's score matrix, under tailorgen's protocol."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
from tailorgen.errors import TailorgenError

__all__ = ["load_matrix", "score_metrics"]

_NPZ_KEYS = {"scores": ("scores", "logits", "probs", "y_score"), "labels": ("labels", "targets", "y_true")}


def load_matrix(path: Path, what: str) -> np.ndarray:
    """A 2-D numeric matrix from ``.npy``, ``.npz`` (one array, or a conventional key) or ``.csv``."""
    if not path.is_file():
        raise TailorgenError(f"{what} file {path} not found")
    try:
        if path.suffix == ".npy":
            matrix = np.load(path, allow_pickle=False)
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                keys = [k for k in _NPZ_KEYS[what] if k in archive.files] or archive.files
                if len(keys) != 1:
                    raise TailorgenError(
                        f"{path} holds arrays {archive.files}; which are the {what}?",
                        f"save one array, or name it {' or '.join(_NPZ_KEYS[what])!s}",
                    )
                matrix = archive[keys[0]]
        elif path.suffix == ".csv":
            matrix = _load_csv(path)
        else:
            raise TailorgenError(
                f"{what} file {path}: unknown format {path.suffix!r}", "use .npy, .npz or .csv"
            )
    except (ValueError, OSError) as exc:
        raise TailorgenError(f"{what} file {path} is not a readable matrix: {exc}") from None
    if matrix.ndim != 2 or (not np.issubdtype(matrix.dtype, np.number) and matrix.dtype != bool):
        raise TailorgenError(
            f"{what} file {path}: expected a numeric images x labels matrix, got {matrix.dtype} "
            f"with shape {matrix.shape}"
        )
    return matrix


def _load_csv(path: Path) -> np.ndarray:
    """Comma-separated numbers; a first line that is not numbers is taken as a header and skipped."""
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError:
        return np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)


def _parse_ks(value: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(k) for k in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers, e.g. 3,5") from None
    if not ks or min(ks) < 1:
        raise click.BadParameter("every K must be at least 1")
    return ks


@click.command("score-metrics")
@click.argument("scores", type=click.Path(path_type=Path))
@click.argument("labels", type=click.Path(path_type=Path))
@click.option(
    "--k", "ks", default="3,5", show_default=True, help="K values of F1@K / P@K / R@K, comma-separated."
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON instead of a table.")
@click.option("--label-set", help="Preset or file whose label order the columns follow (enables --setting).")
@click.option(
    "--setting",
    type=click.Choice(["zsl", "gzsl", "both"]),
    help="With --label-set: ZSL (unseen labels, images with one), GZSL (all used labels), or both (default).",
)
@click.option(
    "--columns",
    type=click.Path(path_type=Path),
    help="With --label-set: a text file naming the matrices' columns, one label per line, in their order "
    "(e.g. NUS-WIDE's all_labels.txt, the reference code's order); the columns are matched by name.",
)
def score_metrics(
    *,
    scores: Path,
    labels: Path,
    ks: str,
    as_json: bool,
    label_set: str | None,
    setting: str | None,
    columns: Path | None,
) -> None:
    """mAP, F1@K, P@K and R@K of SCORES (images x labels) against 0/1 LABELS (.npy, .npz or .csv).

    Without --label-set every column and every image counts. With it, the columns are the label
    set's labels (all of them, or only the used ones, in its order) and the ZSL/GZSL protocol applies.
    """
    from tailorgen.evaluation.metrics import ranking_metrics
    from tailorgen.evaluation.table import format_table

    k_values = _parse_ks(ks)
    s, t = load_matrix(scores, "scores"), load_matrix(labels, "labels")
    if s.shape != t.shape:
        raise TailorgenError(
            f"scores {scores} are {s.shape} but labels {labels} are {t.shape}",
            "both must be images x labels, rows and columns in the same order",
        )
    if (setting or columns) and not label_set:
        raise click.UsageError(f"{'--setting' if setting else '--columns'} needs --label-set")
    if label_set:
        results = _protocol(s, t > 0, label_set, setting or "both", k_values, columns=columns)
    else:
        results = {"all": ranking_metrics(s, t > 0, k_values)}
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        click.echo(format_table({scores.stem: results}, k_values))


def _column_names(path: Path, count: int, label_set: object) -> list[str]:
    """The label names of ``path`` (one per line), checked against the matrices and the label set."""
    if not path.is_file():
        raise TailorgenError(
            f"columns file {path} not found", "pass a text file with one label name per line"
        )
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(names) != count:
        raise TailorgenError(
            f"columns file {path} names {len(names)} labels; the matrices have {count} columns"
        )
    known = set(label_set.names)  # type: ignore[attr-defined]
    unknown = [name for name in names if name not in known]
    if unknown or len(set(names)) != len(names):
        what = f"labels not in the label set: {', '.join(unknown[:5])}" if unknown else "a label twice"
        raise TailorgenError(f"columns file {path} names {what}", "name each label set label once")
    return names


def _protocol(
    s: np.ndarray, t: np.ndarray, spec: str, setting: str, ks: tuple[int, ...], *, columns: Path | None = None
) -> dict:
    from tailorgen.data.labels import load_label_set
    from tailorgen.evaluation.protocol import evaluate_settings

    label_set = load_label_set(spec)
    if columns is not None:
        names = _column_names(columns, s.shape[1], label_set)
    elif s.shape[1] == len(label_set.names):
        names = label_set.names
    elif s.shape[1] == len(label_set.used):
        names = label_set.used
    else:
        raise TailorgenError(
            f"the matrices have {s.shape[1]} columns; label set {label_set.name!r} has {len(label_set.names)} "
            f"labels ({len(label_set.used)} used)",
            "columns must be all of the label set's labels, or its used ones, in its order",
        )
    settings = ("zsl", "gzsl") if setting == "both" else (setting,)
    return evaluate_settings(s, t, label_set, label_names=names, settings=settings, ks=ks)  # type: ignore[arg-type]

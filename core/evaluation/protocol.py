"""The ZSL and GZSL evaluation settings: which labels are ranked and which images count.

- ZSL ranks the label set's unseen labels, on images with at least one unseen label.
- GZSL ranks every used label (seen and unseen, not ``unused``), on images with at least one of them.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from tailorgen.data.labels import LabelSet
from tailorgen.errors import TailorgenError
from tailorgen.evaluation.metrics import as_matrices, ranking_metrics

__all__ = ["SETTINGS", "Setting", "evaluate_settings", "setting_columns", "setting_rows"]

Setting = Literal["zsl", "gzsl"]
SETTINGS: tuple[Setting, ...] = ("zsl", "gzsl")


def setting_columns(
    label_set: LabelSet, setting: Setting, label_names: list[str] | None = None
) -> np.ndarray:
    """Column indices (into ``label_names``, default the label set's order) of the setting's labels."""
    if setting not in SETTINGS:
        raise TailorgenError(f"unknown setting {setting!r}", "use zsl or gzsl")
    wanted = label_set.unseen if setting == "zsl" else label_set.used
    position = {name: i for i, name in enumerate(label_names if label_names is not None else label_set.names)}
    missing = [name for name in wanted if name not in position]
    if missing:
        raise TailorgenError(
            f"{setting.upper()} needs labels the scores do not have: {', '.join(missing[:8])}"
            + (", ..." if len(missing) > 8 else ""),
            "score every label of the label set's setting",
        )
    return np.array([position[name] for name in wanted], dtype=np.int64)


def setting_rows(targets: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Indices of the images with at least one positive among ``columns``."""
    return np.flatnonzero(targets[:, columns].any(axis=1))


def evaluate_settings(
    scores: Any,
    targets: Any,
    label_set: LabelSet,
    *,
    label_names: list[str] | None = None,
    settings: tuple[Setting, ...] = SETTINGS,
    ks: tuple[int, ...] = (3, 5),
) -> dict[str, dict[str, float | int]]:
    """``{setting: ranking_metrics(...)}`` for each setting, on its labels and images."""
    s, t = as_matrices(scores, targets)
    names = label_names if label_names is not None else label_set.names
    if s.shape[1] != len(names):
        raise TailorgenError(f"scores have {s.shape[1]} columns but {len(names)} label names were given")
    out = {}
    for setting in settings:
        columns = setting_columns(label_set, setting, names)
        rows = setting_rows(t, columns)
        out[setting] = ranking_metrics(s[np.ix_(rows, columns)], t[np.ix_(rows, columns)], ks)
    return out

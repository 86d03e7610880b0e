"""Plain-text table of evaluation results (``{model: {setting: metrics}}``) for terminals and logs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["format_table"]


def format_table(results: Mapping[str, Mapping[str, Mapping[str, Any]]], ks: tuple[int, ...] = (3, 5)) -> str:
    """One row per (model, setting): mAP, then F1/P/R at each K, then image and label counts."""
    columns = ["mAP", *(f"{m}@{k}" for k in ks for m in ("F1", "P", "R"))]
    head = (
        f"{'model':<22}{'setting':<9}" + "".join(f"{c:>8}" for c in columns) + f"{'images':>9}{'labels':>8}"
    )
    lines = [head, "-" * len(head)]
    for model, by_setting in results.items():
        for setting, m in by_setting.items():
            cells = "".join(f"{m[c]:>8.2f}" for c in columns)
            lines.append(f"{model:<22}{setting.upper():<9}{cells}{m['images']:>9}{m['labels']:>8}")
    return "\n".join(lines)

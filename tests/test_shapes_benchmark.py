"""benchmarks/shapes_zsmlc.py: the configs it writes select without unseen labels of real images."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import tomli_w
from tailorgen.config import load_config
from tailorgen.stages.train import Settings as TrainSettings
from tailorgen.testing.shapes_coco import build_shapes_coco

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "shapes_zsmlc.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("shapes_zsmlc", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_config_selects_zero_shot_and_never_on_the_test_split(bench, tmp_path):
    data = build_shapes_coco(tmp_path / "coco", splits={"train": 12, "val": 12, "test": 12})
    args = bench.parser().parse_args([])
    config = bench.base_config(args.weights.resolve(), data, args, seed=0)
    runs = bench.row_runs(config, tmp_path, args)
    assert [name for name, _, _ in runs] == ["c", "b", "a2", "d", "e"]  # (a) is (c)'s baseline
    for name, row, _ in runs:
        path = tmp_path / f"{name}.toml"
        path.write_bytes(tomli_w.dumps(row).encode())
        loaded = load_config(path)
        train = TrainSettings.model_validate(loaded.train)
        assert train.selection == "zero-shot", name
        assert "val_labels" not in train.model_fields_set, name
        assert (train.logit_scale, train.aggregation_scale) == ("auto", "auto"), name
        assert loaded.evaluate["split"] == "test"
        assert train.val_split != "test"
    modes = {name: TrainSettings.model_validate(row["train"]).mode for name, row, _ in runs}
    assert modes == {"c": "alternate", "b": "alternate", "a2": "real", "d": "alternate", "e": "alternate"}


def test_cells_are_means_with_t_intervals_over_seeds(bench):
    mean, half = bench.interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(4.302653 / 3**0.5, rel=1e-6)  # t(0.975, 2) * sd 1 / sqrt(3)
    assert bench.interval([5.0]) == (5.0, None)


def test_the_table_pairs_each_row_with_the_row_above(bench):
    def seed(value: float, seed: int) -> dict:
        metrics = {
            k: {s: {"mAP": value + i, "F1@3": 0.0} for s in ("zsl", "gzsl")} for i, k in enumerate(bench.ROWS)
        }
        return {
            "seed": seed,
            "metrics": metrics,
            "acceptance": {"c": 50.0, "d": 51.0 + seed},
            "chance": {"zsl": 30.0, "gzsl": 16.0},
        }

    text = bench.table([seed(10.0, 0), seed(20.0, 1), seed(30.0, 2)])
    lines = text.splitlines()
    a2 = lines.index(next(line for line in lines if line.startswith("(a2)")))
    # seeds differ by 10 in every row (wide intervals), but each row is exactly 1 above the row above
    assert lines[a2].count("21.0 ±24.8") == 2  # ZSL and GZSL mAP: t(0.975, 2) * sd 10 / sqrt(3)
    assert lines[a2 + 1].count("+1.0 ± 0.0") == 2  # paired over seeds: no spread at all
    assert "+2.0 ± 2.5" in text  # acceptance after - before: 1, 2, 3 points

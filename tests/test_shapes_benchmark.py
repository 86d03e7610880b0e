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
    config = bench.base_config(args.weights.resolve(), data, args, seed=3)
    generation = bench.generation_runs(config)
    assert [name for name, _, _ in generation] == ["c", "d"]
    c_evaluate = generation[0][1]["evaluate"]  # (a) and (a') are (c)'s untrained baselines
    assert (c_evaluate["classifier"], c_evaluate["baselines"]) == ("", ["clip-zeroshot", "clip-regions"])
    runs = bench.row_runs(config, tmp_path, args)
    assert [name for name, _, _ in runs] == [
        f"{row}-i{i}" for i in (0, 1) for row in ("a2", "b", "c", "d", "e")
    ]
    for name, row, stages in generation:  # no classifier: other training settings reuse its images
        assert "train" not in stages
        assert row["train"] == {"backbone": config["train"]["backbone"]}, name
    for name, row, _ in runs:
        path = tmp_path / f"{name}.toml"
        path.write_bytes(tomli_w.dumps(row).encode())
        loaded = load_config(path)
        train = TrainSettings.model_validate(loaded.train)
        assert train.selection == "zero-shot", name
        assert "val_labels" not in train.model_fields_set, name
        assert (train.logit_scale, train.aggregation_scale) == ("auto", "auto"), name
        # the paper's context settings; as many tokens as this CLIP's 32-token text context holds:
        # [SOS] + 27 + "hexagon." (3 tokens) + [EOS] = 32
        assert (train.lr_context, train.warmup_epochs, train.n_ctx) == (0.002, 1, 27), name
        assert loaded.evaluate["split"] == "test"
        assert train.val_split != "test"
    modes = {name[:-3]: TrainSettings.model_validate(row["train"]).mode for name, row, _ in runs}
    assert modes == {"c": "alternate", "b": "alternate", "a2": "real", "d": "alternate", "e": "alternate"}
    # paired: every row of one init shares its run seed; the inits differ; none is the data seed's
    seeds = {name: row["run"]["seed"] for name, row, _ in runs}
    assert {seeds[f"{r}-i0"] for r in bench.TRAINED} == {bench.train_seed(3, 0)}
    assert {seeds[f"{r}-i1"] for r in bench.TRAINED} == {bench.train_seed(3, 1)}
    assert len({bench.train_seed(s, i) for s in range(6) for i in range(4)} | {3}) == 25


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
            "by_init": {k: [value, value + 2 * seed] for k in bench.TRAINED},
        }

    text = bench.table([seed(10.0, 0), seed(20.0, 1), seed(30.0, 2)])
    lines = text.splitlines()
    a2 = lines.index(next(line for line in lines if line.startswith("(a2)")))
    # seeds differ by 10 in every row (wide intervals), but each row is exactly 1 above the row above
    assert lines[a2].count("22.0 ±24.8") == 2  # ZSL and GZSL mAP: t(0.975, 2) * sd 10 / sqrt(3)
    assert lines[a2 + 1].count("+1.0 ± 0.0") == 2  # paired over seeds: no spread at all
    assert "+2.0 ± 2.5" in text  # acceptance after - before: 1, 2, 3 points
    assert "spread over 2 inits (max - min, mean over seeds): (a2) 2.0" in text  # 0, 2, 4


def test_the_headline_compares_e_with_the_stronger_zero_shot_row(bench):
    def seed(a_prime: float, a2: float, e: float) -> dict:
        values = {"a'": a_prime, "a2": a2, "e": e}
        return {"metrics": {k: {s: {"mAP": v} for s in ("zsl", "gzsl")} for k, v in values.items()}}

    best, lines = bench.headline([seed(60.0, 50.0, 63.0), seed(62.0, 70.0, 66.0)])
    assert best == "a'"  # 61 > 60 on average, although (a2) wins on one seed
    assert lines[0].startswith("(e) - (a') [max of (a'), (a2)], paired, ZSL mAP: +3.5 ±")
    assert lines[-1] == f"ratio={64.5 / 61:.3f}"
    best, lines = bench.headline([seed(50.0, 55.0, 55.0)])
    assert (best, lines[-1]) == ("a2", "ratio=1.000")

"""The train stage on the tiny RN CLIP: proxyless and alternate modes, resume, config errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tailorgen.examples
import torch
from PIL import Image
from tailorgen.classifier import Classifier
from tailorgen.config import load_config
from tailorgen.errors import ConfigError, TailorgenError
from tailorgen.io import read_jsonl
from tailorgen.pipeline import run_pipeline

TINY = Path(tailorgen.examples.__file__).parent / "tiny.toml"


@pytest.fixture
def demo_env(demo_models, monkeypatch):
    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(Path(demo_models["coco"]).parent))
    monkeypatch.setenv("TAILORGEN_QUIET", "1")
    return json.loads((Path(demo_models["coco"]) / "labels.json").read_text())


def _synthetic(run: Path, labels: dict, count: int = 6) -> None:
    """A small imagefolder of random images labelled with unseen labels, as the generate stage writes."""
    unseen = [label["name"] for label in labels["labels"] if label["split"] == "unseen"]
    rng = np.random.default_rng(0)
    rows = []
    for i in range(count):
        name = f"images/{i:06d}.png"
        (run / "synthetic" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(run / "synthetic" / name)
        rows.append({"file_name": name, "labels": [unseen[i % len(unseen)]], "accepted": True})
    rows.append({"file_name": "images/rejected.png", "labels": [unseen[0]], "accepted": False})
    (run / "synthetic" / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _train(run: Path, *overrides: str) -> dict:
    config = load_config(TINY, ["train.epochs=2", *overrides])
    return run_pipeline(config, ["train"], run)["train"]


def test_proxyless_trains_on_synthetic_only(demo_env, tmp_path):
    _synthetic(tmp_path, demo_env)
    summary = _train(
        tmp_path,
        'train.mode="proxyless"',
        "train.epochs=1",
        'train.val_labels="all"',
        "train.aggregation_scale=0.5",
    )
    assert summary["images"] == {"synthetic": 6}
    model = Classifier.from_pretrained(tmp_path / "classifier")
    assert (model.logit_scale, model.aggregation_scale) == (20.0, 0.5)
    unseen = [label["name"] for label in demo_env["labels"] if label["split"] == "unseen"]
    assert model.unseen == unseen
    assert set(model.label_names) >= set(unseen)
    log = read_jsonl(tmp_path / "train" / "log.jsonl")
    assert [set(entry["loss"]) for entry in log] == [{"synthetic"}]
    assert log[0]["val_map"] is not None


def test_alternate_resumes_to_the_same_classifier(demo_env, tmp_path):
    _synthetic(tmp_path, demo_env)
    summary = _train(tmp_path, "train.keep_checkpoints=2")
    assert summary["images"]["real"] > 0
    log = read_jsonl(tmp_path / "train" / "log.jsonl")
    assert [set(entry["loss"]) for entry in log] == [{"real", "synthetic"}] * 2
    assert log[1]["lr"][0] < log[0]["lr"][0]  # cosine, stepped once per epoch
    first = (tmp_path / "classifier" / "model.safetensors").read_bytes()
    # lose the last epoch and the output: the rerun resumes after epoch 1 and ends identically
    shutil.rmtree(tmp_path / "train" / "checkpoints" / "epoch-2")
    shutil.rmtree(tmp_path / "classifier")
    _train(tmp_path, "train.keep_checkpoints=2")
    assert (tmp_path / "classifier" / "model.safetensors").read_bytes() == first
    assert [entry["epoch"] for entry in read_jsonl(tmp_path / "train" / "log.jsonl")] == [1, 2]
    with pytest.raises(TailorgenError, match="other \\[train\\] settings"):  # finished, but not like this
        _train(tmp_path, "train.lr_context=0.1")
    assert _train(tmp_path, "train.keep_checkpoints=2")["already_done"]


def test_config_mistakes_are_reported_before_training(demo_env, tmp_path):
    _synthetic(tmp_path, demo_env)
    with pytest.raises(ConfigError, match="needs train.real_dataset"):
        _train(tmp_path, 'train.real_dataset=""')
    with pytest.raises(ConfigError, match="test split"):
        _train(tmp_path, 'evaluate.dataset="coco"', 'evaluate.split="val"')
    with pytest.raises(ConfigError, match="no \\[datasets.nope\\]"):
        _train(tmp_path, 'train.val_dataset="nope"')
    assert not (tmp_path / "classifier").exists()


def test_train_needs_generate_only_without_a_synthetic_dataset(demo_env, tmp_path):
    elsewhere, run = tmp_path / "elsewhere", tmp_path / "run"
    _synthetic(elsewhere, demo_env)
    proxyless = ('train.mode="proxyless"', 'train.val_labels="all"', "train.epochs=1")
    with pytest.raises(TailorgenError, match="needs .*synthetic/metadata.jsonl, which stage 'generate'"):
        _train(run, *proxyless)
    shared = (
        'datasets.other.plugin="imagefolder"',
        f'datasets.other.options.root="{elsewhere / "synthetic"}"',
    )
    summary = _train(run, *proxyless, *shared, 'train.synthetic_dataset="other"')
    assert summary["images"] == {"synthetic": 6}
    assert not (run / "synthetic").exists()


def test_frozen_towers_do_not_change_during_training(demo_models, demo_env, tmp_path):
    from safetensors.torch import load_file

    _synthetic(tmp_path, demo_env)
    _train(tmp_path, 'train.mode="proxyless"', "train.epochs=1")
    trained = Classifier.from_pretrained(tmp_path / "classifier").clip.state_dict()
    original = load_file(str(Path(demo_models["clip-rn"]) / "open_clip_model.safetensors"))
    assert set(original) <= set(trained)
    for name, value in original.items():
        assert torch.equal(trained[name], value), name
    assert any(".branch." in name for name in trained)  # the global branch trained beside them


@pytest.mark.slow
def test_two_processes_train_one_classifier(demo_env, tmp_path):
    import os
    import subprocess
    import sys

    _synthetic(tmp_path, demo_env)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "-m",
        "tailorgen",
        "run",
    ]
    command += [str(TINY), "--out", str(tmp_path), "--stages", "train"]
    command += ["--set", 'train.mode="proxyless"', "--set", "train.epochs=1"]
    done = subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(read_jsonl(tmp_path / "train" / "log.jsonl")) == 1  # written once, by the main process
    Classifier.from_pretrained(tmp_path / "classifier")


@pytest.mark.slow
def test_demo_prompts_generate_train_writes_a_loadable_classifier(demo_models, tmp_path, monkeypatch):
    from click.testing import CliRunner
    from tailorgen.cli import cli

    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(Path(demo_models["coco"]).parent))
    result = CliRunner().invoke(
        cli,
        [
            "demo",
            "--out",
            str(tmp_path / "run"),
            "--stages",
            "prompts,generate,train",
            "--set",
            "train.epochs=1",
        ],
    )
    assert result.exit_code == 0, result.output
    model = Classifier.from_pretrained(tmp_path / "run" / "classifier")
    images = torch.stack([model.transform()(Image.new("RGB", (80, 64), "red"))])
    assert model(images).shape == (1, len(model.label_names))


def test_warmup_epochs_train_at_the_constant_warmup_lr_then_cosine(demo_env, tmp_path):
    _synthetic(tmp_path, demo_env)
    proxyless = ('train.mode="proxyless"', 'train.val_labels="all"')
    _train(tmp_path, *proxyless, "train.epochs=3", "train.warmup_epochs=1", "train.warmup_lr=3e-5")
    settings = load_config(TINY).train
    base = [settings.get("lr_context", 0.002), settings.get("lr_fusion", 1e-4)]
    lrs = [entry["lr"] for entry in read_jsonl(tmp_path / "train" / "log.jsonl")]
    # epoch 1 at 3e-5 for every group; then the cosine over 3 epochs from its start
    assert lrs[0] == pytest.approx([3e-5, 3e-5])
    assert lrs[1] == pytest.approx(base)
    assert lrs[2] == pytest.approx([lr * 0.75 for lr in base])  # (1 + cos(pi / 3)) / 2


def _scored_label_sets(monkeypatch) -> list[list[str]]:
    """The label names every training forward scores (spied on the classifier)."""
    calls: list[list[str]] = []
    original = Classifier.text_features_for

    def spy(self, names):
        if self.training:
            calls.append(list(names))
        return original(self, names)

    monkeypatch.setattr(Classifier, "text_features_for", spy)
    return calls


def test_real_batches_score_a_seeded_random_subset_of_seen_labels(demo_env, monkeypatch, tmp_path):
    seen = [label["name"] for label in demo_env["labels"] if label["split"] == "seen"]
    unseen = [label["name"] for label in demo_env["labels"] if label["split"] == "unseen"]
    for run in ("a", "b", "c"):
        _synthetic(tmp_path / run, demo_env)
    calls = _scored_label_sets(monkeypatch)
    _train(tmp_path / "a", "train.epochs=1", "train.seen_labels_per_batch=2", "train.batch_size=2")
    first = list(calls)
    real = [names for names in first if set(names) <= set(seen)]
    assert [names for names in first if names not in real] == [unseen] * 3  # synthetic: all unseen
    assert len(real) >= 4
    assert all(len(names) == 2 for names in real)
    assert len({tuple(names) for names in real}) > 1  # a fresh subset per batch
    calls.clear()
    _train(tmp_path / "b", "train.epochs=1", "train.seen_labels_per_batch=2", "train.batch_size=2")
    assert calls == first  # drawn from the config's seed
    calls.clear()
    _train(tmp_path / "c", "train.epochs=1", "train.batch_size=2")  # default: every seen label
    assert next(names for names in calls if set(names) <= set(seen)) == seen


def test_label_draws_keep_targets_aligned_with_their_names():
    from tailorgen.classifier.training import Phase, _LabelDraws

    names = [f"label{i}" for i in range(10)]
    targets = torch.arange(10).repeat(3, 1)  # column i holds i
    draws = _LabelDraws(Phase("real", None, names, labels_per_batch=4), seed=5)
    for _ in range(5):
        picked, columns = draws.next_batch(targets)
        assert picked == [names[i] for i in columns[0].tolist()]
        assert len(set(picked)) == 4
        assert columns.shape == (3, 4)
    everything = _LabelDraws(Phase("real", None, names, labels_per_batch=10), seed=5)
    picked, columns = everything.next_batch(targets)
    assert picked == names
    assert torch.equal(columns, targets)


@pytest.mark.parametrize(("example", "seen_per_batch"), [("coco-48-17", 48), ("nus-wide-925-81", 100)])
def test_paper_configs_plan_the_reference_training(example, seen_per_batch, monkeypatch):
    from click.testing import CliRunner
    from tailorgen.cli import cli

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = TINY.parent / f"{example}.toml"
    result = CliRunner().invoke(cli, ["run", str(config), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["stages"]["train"]
    assert (plan["warmup_epochs"], plan["seen_labels_per_real_batch"]) == (1, seen_per_batch)
    assert load_config(config).train["warmup_lr"] == 1e-5

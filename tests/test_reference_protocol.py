"""``[run] protocol = "reference"``: every switch set as the authors' code has it, user settings win."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tailorgen.config import load_config
from tailorgen.errors import ConfigError
from tailorgen.pipeline import plan_pipeline
from tailorgen.protocol import REFERENCE_SWITCHES, paper_setting

ROOT = Path(__file__).resolve().parents[1]
COCO = ROOT / "examples" / "coco-48-17.toml"
NUS = ROOT / "examples" / "nus-wide-925-81.toml"


def _value(config, switch):  # type: ignore[no-untyped-def]
    section = getattr(config, switch.section)
    return (section.options if switch.plugin else section).get(switch.key)


@pytest.mark.parametrize(("path", "setting"), [(COCO, "coco"), (NUS, "nus-wide")])
def test_reference_protocol_sets_every_switch_of_its_paper_setting(path: Path, setting: str) -> None:
    config = load_config(path, ["run.protocol=reference"])
    assert paper_setting(config.labels) == setting
    mine = [s for s in REFERENCE_SWITCHES if s.setting in (None, setting)]
    assert {s.name for s in mine} >= {
        "train.schedule_step",
        "train.augment",
        "train.selection_metric",
        "train.select_checkpoints",
        "train.mixed_precision",
        "generate.image_format",
        "generate.extra_draw",
        "finetune.label_sets",
        "prompt_writer.options.max_total_tokens",
    }
    for switch in mine:
        assert _value(config, switch) == switch.value, switch.name
    plan = plan_pipeline(config)  # every stage validates the values the protocol put in
    assert plan["protocol"]["name"] == "reference"
    assert set(plan["protocol"]["switches"]) == {s.name for s in mine}
    train = plan["stages"]["train"]
    assert (train["schedule_step"], train["augment"], train["selection_metric"]) == (
        "pass",
        "reference",
        "f1@3",
    )


def test_the_clean_protocol_changes_nothing() -> None:
    clean, plain = load_config(COCO, ["run.protocol=clean"]), load_config(COCO)
    assert clean.model_dump() == plain.model_dump()
    assert plan_pipeline(plain)["protocol"] == {"name": "clean"}
    assert "schedule_step" not in plain.train
    assert "image_format" not in plain.generate


def test_explicit_settings_win_over_the_protocol() -> None:
    config = load_config(
        COCO, ["run.protocol=reference", "train.schedule_step=epoch", "generate.image_format=png"]
    )
    assert config.train["schedule_step"] == "epoch"
    assert config.generate["image_format"] == "png"
    assert config.train["augment"] == "reference"  # the rest still follows the protocol
    shown = plan_pipeline(config)["protocol"]["switches"]["train.schedule_step"]
    assert shown.startswith("'epoch'")
    assert "the reference: 'pass'" in shown


def test_an_unknown_protocol_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(COCO, ["run.protocol=paper"])
    assert "run.protocol" in err.value.message
    assert "'clean'" in err.value.message


def test_cli_dry_run_shows_the_reference_switches() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    args = ["run", "examples/coco-48-17.toml", "--set", "run.protocol=reference", "--dry-run", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "tailorgen", *args], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    switches = json.loads(done.stdout)["protocol"]["switches"]
    for switch in REFERENCE_SWITCHES:
        if switch.setting in (None, "coco"):
            assert switches[switch.name].startswith(f"{switch.value!r}:"), switch.name
            assert "set by the config" not in switches[switch.name]


def test_a_switch_that_contradicts_an_explicit_choice_is_left_out() -> None:
    config = load_config(COCO, ["run.protocol=reference", 'train.selection="zero-shot"'])
    assert "select_checkpoints" not in config.train  # zsl-and-gzsl selection reads unseen-label annotations
    shown = plan_pipeline(config)["protocol"]["switches"]["train.select_checkpoints"]
    assert shown == "not applied: train.selection = 'zero-shot'"

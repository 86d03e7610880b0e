"""CLI output: the run summary (text and --json), --quiet/--verbose, "did you mean", help examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from tailorgen.cli import COMMANDS, EXAMPLES, cli

ROOT = Path(__file__).resolve().parents[1]


def tailorgen(
    *args: str, cwd: Path | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(extra_env or {})}
    env.pop("TAILORGEN_QUIET", None)
    return subprocess.run(
        [sys.executable, "-m", "tailorgen", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


@pytest.fixture
def template_config(tmp_path: Path) -> Path:
    """A run whose one stage (template prompts for 2 label sets) takes a second and no model."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'labels = "coco-48-17"\n[run]\nout_dir = "{tmp_path / "run"}"\nstages = ["prompts"]\n'
        '[prompt_writer]\nplugin = "template"\n[prompts]\nn_sets = 2\n'
    )
    return cfg


def test_run_prints_a_summary_and_status_lines_on_stderr(template_config: Path, tmp_path: Path) -> None:
    done = tailorgen("run", str(template_config))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"run directory: {tmp_path / 'run'}"
    assert lines[1].split() == ["prompts", "label_sets", "2,", "accepted", "20,", *lines[1].split()[5:]]
    assert "[tailorgen] stage prompts" in done.stderr
    assert "[tailorgen] stage prompts" not in done.stdout


def test_run_json_summary_parses(template_config: Path, tmp_path: Path) -> None:
    done = tailorgen("run", str(template_config), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["run_dir"] == str(tmp_path / "run")
    assert summary["stages"]["prompts"]["label_sets"] == 2
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["stages"]["prompts"]["summary"] == summary["stages"]["prompts"]


def test_the_cli_reads_tailorgen_environment_overrides(template_config: Path) -> None:
    planned = tailorgen(
        "run", str(template_config), "--dry-run", "--json", extra_env={"TAILORGEN_PROMPTS__N_SETS": "3"}
    )
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["stages"]["prompts"]["label_sets"] == 3


def test_quiet_silences_status_lines_and_verbose_adds_debug(template_config: Path) -> None:
    quiet = tailorgen("--quiet", "run", str(template_config), "--json")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""  # no status line, no progress bar
    assert json.loads(quiet.stdout)["stages"]["prompts"]["label_sets"] == 2
    verbose = tailorgen("--verbose", "run", str(template_config))
    assert verbose.returncode == 0, verbose.stderr
    assert "[tailorgen] stage prompts done: {" in verbose.stderr
    assert "done: {" not in tailorgen("run", str(template_config)).stderr
    both = tailorgen("-q", "-v", "run", str(template_config))
    assert both.returncode == 2
    assert "--quiet and --verbose contradict each other" in both.stderr


def test_plan_says_generation_uses_this_runs_finetuned_text_encoder() -> None:
    whole = tailorgen("run", "examples/coco-48-17.toml", "--dry-run", "--json", cwd=ROOT)
    assert whole.returncode == 0, whole.stderr
    planned = json.loads(whole.stdout)["stages"]["generate"]["text_encoder"]
    assert planned == "runs/coco-48-17/finetune/text_encoder (written by this run's finetune stage)"
    alone = tailorgen(
        "run", "examples/coco-48-17.toml", "--dry-run", "--json", "--stages", "generate", cwd=ROOT
    )
    assert json.loads(alone.stdout)["stages"]["generate"]["text_encoder"] == "stock"
    off = ["--stages", "finetune,generate", "--set", "generate.use_finetuned_text_encoder=false"]
    disabled = tailorgen("run", "examples/coco-48-17.toml", "--dry-run", "--json", *off, cwd=ROOT)
    assert json.loads(disabled.stdout)["stages"]["generate"]["text_encoder"] == "stock"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ('[prompt_writer]\nplugin = "templte"\n', "unknown prompt_writer 'templte'; available: "),
        ('[prompt_writer]\nplugin = "templte"\n', "template; did you mean 'template'?"),
        ("[prompts]\nn_set = 2\n", "prompts.n_set: Extra inputs are not permitted; did you mean 'n_sets'?"),
        ("[run]\nsed = 1\n", "run.sed: Extra inputs are not permitted; did you mean 'seed'?"),
    ],
)
def test_did_you_mean_in_config_errors(tmp_path: Path, edit: str, expected: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('labels = "coco-48-17"\n' + edit)
    done = tailorgen("run", str(cfg), "--stages", "prompts", "--dry-run", "--json")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert expected in done.stderr


def test_did_you_mean_for_plugin_options_stages_and_presets(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('labels = "coco-48-17"\n[prompt_writer]\nplugin = "template"\noptions = { pose = 1 }\n')
    options = tailorgen("run", str(cfg), "--stages", "prompts", "--dry-run", "--json")
    assert "pose: Extra inputs are not permitted; did you mean 'pose_rate'?" in options.stderr
    stage = tailorgen("run", str(cfg), "--stages", "trian", "--dry-run", "--json")
    assert "unknown stage(s) trian; did you mean 'train'?" in stage.stderr
    preset = tailorgen("labels", "coco-48-7")
    assert preset.returncode == 1
    assert "'coco-48-7' is neither a preset nor a file; did you mean 'coco-48-17'?" in preset.stderr
    nothing_close = tailorgen("labels", "zebra")
    assert "did you mean" not in nothing_close.stderr


def test_did_you_mean_for_commands() -> None:
    done = tailorgen("rnu", "x.toml")
    assert done.returncode == 2
    assert "No such command 'rnu'; did you mean 'run'?" in done.stderr


def test_show_says_a_missing_run_directory_is_missing(tmp_path: Path) -> None:
    done = tailorgen("show", str(tmp_path / "nope"))
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: run directory {tmp_path / 'nope'} does not exist")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_help_ends_with_an_example(command: str) -> None:
    shown = CliRunner().invoke(cli, [command, "--help"])
    assert shown.exit_code == 0, shown.output
    lines = EXAMPLES[command].splitlines()  # an example may first make what it needs
    last = [line.strip() for line in shown.output.rstrip().splitlines()[-2 - len(lines) :]]
    assert last == ["Example:", "", *lines]
    assert lines[-1].startswith(f"tailorgen {command} ")


def test_hub_list_help_ends_with_an_example() -> None:
    shown = CliRunner().invoke(cli, ["hub", "list", "--help"])
    assert shown.output.rstrip().splitlines()[-1].strip().startswith("tailorgen hub list --")


def test_text_summary_keeps_one_line_per_stage() -> None:
    from tailorgen.cli.run import format_summary

    results = {
        "export": {"artefacts": [{"report": "x" * 200}], "classifier": "classifier", "skipped": None},
        "evaluate": {"images": 12, "models": {"clip-zeroshot": {"zsl": 48.57}}, "map": 0.123456},
    }
    assert format_summary(Path("runs/a"), results).splitlines() == [
        "run directory: runs/a",
        "  export    artefacts 1 item, classifier classifier",
        '  evaluate  images 12, models {"clip-zeroshot": {"zsl": 48.57}}, map 0.1235',
    ]

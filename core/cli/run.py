"""``tailorgen run CONFIG``: run (or plan) the configured stages, then print what each stage produced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from tailorgen.config import load_config
from tailorgen.pipeline import plan_pipeline, run_pipeline

__all__ = ["echo_summary", "format_plan", "format_summary", "run", "stage_list"]


def stage_list(value: str | None) -> list[str] | None:
    return [s.strip() for s in value.split(",") if s.strip()] if value else None


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return value
    text = json.dumps(value, default=str)
    # a one-line summary: long nested values (validation reports) are counted, --json has them
    if len(text) <= 100:
        return text
    return "1 item" if len(value) == 1 else f"{len(value)} items"


def format_summary(run_dir: Path, results: dict[str, Any]) -> str:
    """``run directory: ...`` then one line per stage with what its summary reports."""
    width = max((len(name) for name in results), default=0)
    lines = [f"run directory: {run_dir}"]
    for stage, summary in results.items():
        shown = ", ".join(f"{key} {_value(value)}" for key, value in summary.items() if value is not None)
        lines.append(f"  {stage:<{width}}  {shown or 'done'}")
    return "\n".join(lines)


def format_plan(plan: dict[str, Any]) -> str:
    """The dry run for a person: one line per stage (ready or not, and what it would do), each
    problem under its stage, then a verdict; ``--json`` prints the dict itself."""
    stages: dict[str, Any] = plan["stages"]
    labels = plan["labels"]
    width = max((len(name) for name in stages), default=0)
    lines = [
        f"plan for {plan['run_dir']} (seed {plan['seed']}; labels {labels['name']}: "
        f"{labels['seen']} seen, {labels['unseen']} unseen)"
    ]
    if protocol := plan.get("protocol"):
        lines.append(f"  protocol {protocol['name']}")
        lines += [f"    {name}: {what}" for name, what in protocol.get("switches", {}).items()]
    lines += [f"  problem: {problem}" for problem in plan.get("problems", [])]
    for name, entry in stages.items():
        shown = ", ".join(
            f"{key} {_value(value)}"
            for key, value in entry.items()
            if key not in {"available", "problems"} and value is not None
        )
        state = "ready" if entry.get("available") else "UNAVAILABLE"
        lines.append(f"  {name:<{width}}  {state:<11}  {shown}".rstrip())
        lines += [f"  {'':<{width}}  - {problem}" for problem in entry.get("problems", [])]
    blocked = len({*plan.get("problems", []), *(p for e in stages.values() for p in e.get("problems", []))})
    lines.append(
        f"{blocked} problem(s) would stop this run: fix them first" if blocked else "every stage can start"
    )
    return "\n".join(lines)


def echo_summary(run_dir: Path, results: dict[str, Any], as_json: bool) -> None:
    """The command's output on stdout: the summary as text, or as one JSON object for scripts."""
    if as_json:
        click.echo(json.dumps({"run_dir": str(run_dir), "stages": results}, indent=2, default=str))
    else:
        click.echo(format_summary(run_dir, results))


@click.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option("--stages", help="Comma-separated stages to run (default: the config's run.stages).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value.")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), help="Run directory (default: run.out_dir)."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan (plugins, models, counts, disk) and what would stop it; load no model.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary (or the plan) as JSON.")
def run(
    config_path: Path,
    *,
    stages: str | None,
    overrides: tuple[str, ...],
    out_dir: Path | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Run the stages of the pipeline described by CONFIG (a TOML file).

    Settings come from CONFIG, then TAILORGEN_* environment variables (TAILORGEN_GENERATE__QUOTA=5),
    then --set. Each stage resumes from what the run directory already holds. Before any work the run
    checks what --dry-run shows (data sets, models, output folder, disk) and refuses to start when a
    stage could not run.
    """
    config = load_config(config_path, overrides, env=True)
    if dry_run:
        plan = plan_pipeline(config, stage_list(stages), out_dir)
        click.echo(json.dumps(plan, indent=2, default=str) if as_json else format_plan(plan))
        return
    results = run_pipeline(config, stage_list(stages), out_dir)
    echo_summary(out_dir or config.run.out_dir, results, as_json)

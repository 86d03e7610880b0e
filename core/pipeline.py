"""Run the configured stages, in order, over one run directory."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tailorgen.config import STAGE_ORDER, RunConfig, as_run_config, dump_toml, unknown_stages_error
from tailorgen.context import RunContext, labels_source
from tailorgen.errors import TailorgenError
from tailorgen.io import atomic_write_text, remove_stale_partials
from tailorgen.manifest import Manifest
from tailorgen.preflight import image_bytes, run_problems, size_text, stage_problems
from tailorgen.protocol import describe_protocol
from tailorgen.runtime.distributed import launch_rank
from tailorgen.stages import STAGES, load_stage

__all__ = ["ConfigLike", "plan_pipeline", "run_pipeline", "saved_config"]

logger = logging.getLogger(__name__)

_NOT_HERE = "not available in this version of tailorgen"


#: what ``run``/``plan`` accept as a config: a loaded one, a TOML path or the same content as a dict
ConfigLike = RunConfig | str | os.PathLike[str] | Mapping[str, Any]


def _selected(config: RunConfig, stages: Sequence[str] | str | None) -> list[str]:
    if isinstance(stages, str):  # "prompts,generate", as --stages takes them
        stages = [s.strip() for s in stages.split(",") if s.strip()]
    wanted = list(stages) if stages is not None else config.run.stages
    unknown = [s for s in wanted if s not in STAGE_ORDER]
    if unknown:
        raise unknown_stages_error(unknown)
    return [s for s in STAGE_ORDER if s in wanted]


def _check_inputs(ctx: RunContext, modules: dict[str, Any]) -> None:
    """Each stage's inputs come from an earlier selected stage or are already in the run directory.

    A stage module may narrow its static ``requires`` for this config with ``requires(ctx)``
    (``train`` reading a ``synthetic_dataset`` elsewhere does not need this run's ``generate``).
    """
    selected = list(modules)
    for position, name in enumerate(selected):
        narrow = getattr(modules[name], "requires", None)
        for needed in narrow(ctx) if narrow is not None else STAGES[name].requires:
            produced = ctx.path(STAGES[needed].produces)
            if needed not in selected[:position] and not produced.exists():
                raise TailorgenError(
                    f"stage {name!r} needs {produced}, which stage {needed!r} produces",
                    f"run it first: --stages {needed},{name}",
                )


def saved_config(config: RunConfig) -> str:
    """The resolved config as the run directory keeps it: ``tailorgen run RUN/config.toml`` resumes
    that run wherever it lies (``out_dir`` is the config's own folder) and reads the same labels."""
    saved = config.model_copy(update={"labels": labels_source(config)})
    return dump_toml(saved, out_dir="${CONFIG_DIR}")


def plan_pipeline(
    config: ConfigLike,
    stages: Sequence[str] | str | None = None,
    out_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """What a run would do, without loading any model (a dict per stage, as ``--dry-run`` prints).

    ``config``: a :class:`RunConfig`, a TOML path or a dict (see ``load_config``); ``stages``: a list
    or ``"a,b"`` (default ``run.stages``); ``out_dir``: the run directory (default ``run.out_dir``).
    """
    config = as_run_config(config)
    selected = _selected(config, stages)
    ctx = RunContext(config, Path(out_dir or config.run.out_dir), stages=tuple(selected))
    ctx.registry.check_strict()
    ctx.validate_plugins()
    plan: dict[str, Any] = {
        "run_dir": str(ctx.run_dir),
        "seed": ctx.seed,
        "labels": {"name": ctx.labels.name, "seen": len(ctx.labels.seen), "unseen": len(ctx.labels.unseen)},
        "problems": run_problems(ctx),
        "protocol": describe_protocol(config),
        "stages": {},
    }
    for name in selected:
        if not STAGES[name].available:
            plan["stages"][name] = {"available": False, "problems": [_NOT_HERE]}
            continue
        module = load_stage(name)
        entry = module.plan(ctx) if hasattr(module, "plan") else {}
        if name == "generate":
            images, size = image_bytes(ctx)
            entry["disk"] = f"about {size_text(size)} for {images} images (PNG)"
        problems = stage_problems(ctx, name)
        plan["stages"][name] = {
            "available": not problems,
            **entry,
            **({"problems": problems} if problems else {}),
        }
    return plan


def _refuse_problems(ctx: RunContext, selected: list[str]) -> None:
    """What the dry run marks unavailable stops the run before any work (not hours into it)."""
    problems = run_problems(ctx) + [p for name in selected for p in stage_problems(ctx, name)]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        config = ctx.config.path or "CONFIG"
        raise TailorgenError(
            f"{problems[0]}{more}",
            f"fix it and rerun; `tailorgen run {config} --dry-run` lists every problem",
        )


def run_pipeline(
    config: ConfigLike,
    stages: Sequence[str] | str | None = None,
    out_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Run the selected stages and return each one's summary (arguments as for ``plan_pipeline``).

    Each stage resumes from what the run directory already holds.
    """
    config = as_run_config(config)
    selected = _selected(config, stages)
    ctx = RunContext(config, Path(out_dir or config.run.out_dir), stages=tuple(selected))
    ctx.registry.check_strict()
    ctx.validate_plugins()
    missing = [s for s in selected if not STAGES[s].available]
    if missing:
        have = ", ".join(s for s in STAGE_ORDER if STAGES[s].available)
        raise TailorgenError(
            f"stage(s) not available in this version of tailorgen: {', '.join(missing)}",
            f"available stages: {have}",
        )
    modules = {name: load_stage(name) for name in selected}
    for module in modules.values():  # validate every section before any work starts
        if hasattr(module, "validate"):
            module.validate(ctx)
    _check_inputs(ctx, modules)
    _refuse_problems(ctx, selected)
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    writer = launch_rank() == 0  # under torchrun one process owns the run's own files
    if writer:
        for stale in remove_stale_partials(ctx.run_dir):
            logger.info(f"[tailorgen] removed {stale}, left unfinished by an earlier run")
        atomic_write_text(ctx.path("config.toml"), saved_config(config))
    plugins = [
        {"plugin": s.plugin, "distribution": s.distribution, "version": s.version}
        for s in ctx.registry.sources
    ]
    manifest = Manifest.open(ctx.run_dir, seed=ctx.seed, plugins=plugins, writer=writer)
    results: dict[str, Any] = {}
    for name, module in modules.items():
        logger.info(f"[tailorgen] stage {name}")
        manifest.stage(name, "running")
        try:
            results[name] = module.run(ctx) or {}
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            manifest.stage(name, status, error=str(exc) or type(exc).__name__)
            raise
        manifest.stage(name, "done", summary=results[name])
        logger.debug(f"[tailorgen] stage {name} done: {results[name]}")
    manifest.finish()
    return results

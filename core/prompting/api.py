"""``write_prompts``: the prompts stage from Python, writing what ``tailorgen run --stages prompts`` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailorgen.config import RunConfig, load_config
from tailorgen.context import RunContext

__all__ = ["write_prompts"]


def write_prompts(
    config: str | Path | RunConfig | RunContext,
    out_dir: str | Path | None = None,
    overrides: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run the prompts stage for a config file, a loaded config or a run context; return its summary.

    ``out_dir`` defaults to the config's ``run.out_dir``; the run directory then holds
    ``prompts.jsonl`` and ``prompts_report.json`` (and, unless given a context, ``config.toml`` and
    ``manifest.json``, as the CLI writes them).
    """
    from tailorgen.pipeline import run_pipeline
    from tailorgen.stages import prompts

    if isinstance(config, RunContext):
        config.run_dir.mkdir(parents=True, exist_ok=True)
        return prompts.run(config)
    loaded = config if isinstance(config, RunConfig) else load_config(config, overrides)
    return run_pipeline(loaded, ["prompts"], Path(out_dir) if out_dir is not None else None)["prompts"]

"""What a run would fail on, found without loading a model: the dry run shows it, ``run`` refuses it.

Each problem is one line that starts with the config key to fix (``datasets.coco.options.root: ...``).
Checked: data set roots and their annotation files, local model folders and (offline) the Hub cache,
a writable run directory, and the disk space the planned images need.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tailorgen.context import RunContext
from tailorgen.hub.sources import looks_local

__all__ = ["image_bytes", "run_problems", "size_text", "stage_problems"]

#: stage -> config keys that name a model (a Hub id, a local folder or a plugin's own model name)
_MODEL_KEYS: dict[str, tuple[str, ...]] = {
    "prompts": ("prompt_writer.options.model", "prompts.embedder"),
    "finetune": ("generator.options.model", "discriminator.options.model"),
    "generate": ("generator.options.model", "discriminator.options.model"),
    "train": ("train.backbone",),
    "evaluate": ("evaluate.clip_model",),
}
#: role -> the plugins whose ``model`` option is a Hub id or a local folder (an ``openai`` writer's
#: is a server's model name; a third-party plugin's is its own business)
_HUB_PLUGINS = {"prompt_writer": {"hf-chat"}, "generator": {"diffusers"}, "discriminator": {"open-clip"}}

#: a PNG of a generated image is about half its raw RGB size (measured: 0.4-0.6 on SD images)
_PNG_RATIO = 0.5


def _value(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _hub_cached(repo_id: str) -> bool:
    from huggingface_hub import constants

    return (Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}").is_dir()


def _model_problem(key: str, value: str) -> str | None:
    """Why the model ``value`` at ``key`` cannot load here, if that shows without loading it."""
    from tailorgen.hub.auth import offline_mode

    if value.startswith("local-dir:"):
        path = Path(value.removeprefix("local-dir:")).expanduser()
        return None if path.is_dir() else f"{key}: {path} is not a folder"
    repo = value.removeprefix("hf-hub:").split("@")[0] if value.startswith("hf-hub:") else value
    if Path(repo).expanduser().exists() or ("/" not in repo.strip("/") and not repo.startswith((".", "~"))):
        return None  # there, or a plugin's own model name (an open_clip architecture such as RN50)
    if looks_local(repo):
        return f"{key}: {repo} is neither a local folder nor a Hub repo id"
    if repo.count("/") == 1 and offline_mode() and not _hub_cached(repo):
        return f"{key}: {repo} is not in the Hub cache and offline mode is on (HF_HUB_OFFLINE)"
    return None  # online: checked when it loads


def _datasets(ctx: RunContext, stage: str) -> list[tuple[str, str]]:
    """(dataset key, split) pairs ``stage`` reads."""
    if stage == "train":
        from tailorgen.stages.train import Settings as Train

        train: Train = ctx.settings("train", Train)
        pairs = [(train.real_dataset, train.real_split)] if train.mode in ("alternate", "real") else []
        pairs += [(train.val_dataset or train.real_dataset, train.val_split)]
        pairs += [(train.synthetic_dataset, train.synthetic_split)]
        return [(key, split) for key, split in pairs if key]
    if stage == "evaluate":
        from tailorgen.stages.evaluate import Settings as Evaluate

        evaluate: Evaluate = ctx.settings("evaluate", Evaluate)
        return [(evaluate.dataset, evaluate.split)] if evaluate.dataset else []
    return []


def _dataset_problems(ctx: RunContext, key: str, split: str) -> list[str]:
    spec = ctx.config.datasets.get(key)
    if spec is None:  # the stage's own validation names the missing section
        return []
    dataset = ctx.create("dataset", f"datasets.{key}", spec)
    check = getattr(dataset, "problems", None)  # a third-party data set may not offer the check
    found = check(split) if check is not None else []
    return [f"datasets.{key}.options.{option}: {problem}" for option, problem in found]


def image_bytes(ctx: RunContext) -> tuple[int, int]:
    """(images, bytes) the generate stage plans to write: the quota of every unseen label."""
    from tailorgen.stages.generate import Settings as Generate

    settings: Generate = ctx.settings("generate", Generate)
    options = ctx.config.generator.options if ctx.config.generator else {}
    height, width = options.get("height") or 768, options.get("width") or 768
    images = settings.quota * len(ctx.labels.unseen)
    return images, int(images * height * width * 3 * _PNG_RATIO)


def size_text(count: float) -> str:
    """``3 GB``, ``49 kB``: two significant digits."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.2g} {unit}"
    return f"{int(count)} bytes"


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def stage_problems(ctx: RunContext, stage: str) -> list[str]:
    """What would stop ``stage`` that shows before it runs (each line starts with the key to fix)."""
    data = ctx.config.model_dump(mode="json")
    keys = [
        key
        for key in _MODEL_KEYS.get(stage, ())
        if (role := key.split(".")[0]) not in _HUB_PLUGINS
        or _value(data, f"{role}.plugin") in _HUB_PLUGINS[role]
    ]
    found = [
        problem
        for key in keys
        if isinstance(value := _value(data, key), str) and value
        if (problem := _model_problem(key, value)) is not None
    ]
    for dataset, split in dict.fromkeys(_datasets(ctx, stage)):
        found += _dataset_problems(ctx, dataset, split)
    found = list(dict.fromkeys(found))  # a root that is missing for two splits is one problem
    if stage == "generate":
        images, needed = image_bytes(ctx)
        where = _existing_parent(ctx.run_dir)
        free = shutil.disk_usage(where).free if where.is_dir() else 0
        if needed > free:
            found.append(
                f"generate.quota: {images} planned images need about {size_text(needed)}, "
                f"but {where} has {size_text(free)} free"
            )
    return found


def run_problems(ctx: RunContext) -> list[str]:
    """Problems of the run as a whole: the run directory must be a folder this user can write."""
    where = _existing_parent(ctx.run_dir)
    if not where.is_dir():
        return [f"run.out_dir: {where} is a file, not a folder"]
    if not os.access(where, os.W_OK | os.X_OK):
        return [f"run.out_dir: {where} is not writable"]
    return []

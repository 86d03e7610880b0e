"""The generator and discriminator a generation uses, and the fingerprint of what shapes its images."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from tailorgen.config import PluginSpec
from tailorgen.context import RunContext

__all__ = ["FINETUNED_TEXT_ENCODER", "discriminator_spec", "fingerprint", "generator_spec"]

logger = logging.getLogger(__name__)

#: where the finetune stage saves the text encoder, relative to the run directory
FINETUNED_TEXT_ENCODER = "finetune/text_encoder"

#: options that change speed or memory, not the images (a resumed run may change them)
_SPEED_ONLY = frozenset(
    {"device", "batch_size", "offload", "compile", "compile_mode", "channels_last", "local_files_only"}
    | {"vae_slicing", "vae_tiling", "attention_slicing"}
)


def _with_run_device(ctx: RunContext, role: str, spec: PluginSpec) -> PluginSpec:
    fields = ctx.registry.get(role, spec.plugin).cls.Options.model_fields
    if ctx.config.run.device != "auto" and "device" in fields and "device" not in spec.options:
        return spec.model_copy(update={"options": {**spec.options, "device": ctx.config.run.device}})
    return spec


def generator_spec(ctx: RunContext, use_finetuned: bool) -> tuple[PluginSpec, Path | None]:
    """The ``[generator]`` spec, pointed at the run's fine-tuned text encoder when there is one."""
    spec = _with_run_device(ctx, "generator", ctx.plugin_spec("generator"))
    encoder = ctx.path(FINETUNED_TEXT_ENCODER)
    if spec.options.get("text_encoder"):
        return spec, Path(spec.options["text_encoder"])
    if not use_finetuned or not (encoder / "model.safetensors").is_file():
        return spec, None
    if "text_encoder" not in ctx.registry.get("generator", spec.plugin).cls.Options.model_fields:
        logger.info(f"[generate] generator {spec.plugin!r} cannot load a text encoder; {encoder} is not used")
        return spec, None
    return spec.model_copy(update={"options": {**spec.options, "text_encoder": str(encoder)}}), encoder


def discriminator_spec(ctx: RunContext) -> PluginSpec:
    return _with_run_device(ctx, "discriminator", ctx.plugin_spec("discriminator"))


def _files_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.safetensors")):
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def fingerprint(generator: Any, discriminator: Any, encoder: Path | None) -> str:
    """A short hash of the validated options that shape images and verdicts (not speed options)."""

    def shaping(plugin: Any) -> dict[str, Any]:
        options = plugin.options.model_dump(mode="json")
        return {"plugin": plugin.name, **{k: v for k, v in options.items() if k not in _SPEED_ONLY}}

    facts = {"generator": shaping(generator), "discriminator": shaping(discriminator)}
    if encoder is not None:
        facts["generator"]["text_encoder"] = _files_digest(encoder)
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]

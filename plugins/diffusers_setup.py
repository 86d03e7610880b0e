"""Loading a diffusers pipeline from generator options: weights, scheduler, encoder, LoRA, speed-ups."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailorgen.errors import PluginError, first_line

if TYPE_CHECKING:
    from tailorgen.plugins.diffusers_options import DiffusersOptions

__all__ = ["load_pipeline", "load_text_encoder", "make_scheduler"]


def load_text_encoder(directory: str | Path, dtype: Any) -> Any:
    """A ``CLIPTextModel`` saved with ``save_pretrained`` (config.json + model.safetensors)."""
    from transformers import CLIPTextModel

    folder = Path(directory).expanduser()
    if not (folder / "config.json").is_file() or not any(folder.glob("*.safetensors")):
        raise PluginError(
            f"diffusers: text encoder directory {folder} has no config.json + *.safetensors",
            "point text_encoder at a CLIPTextModel.save_pretrained folder, e.g. RUN/finetune/text_encoder",
        )
    return CLIPTextModel.from_pretrained(str(folder), dtype=dtype, use_safetensors=True)


def make_scheduler(name: str, config: Any, extra: dict[str, Any]) -> Any:
    """Scheduler by short name or diffusers class name, built from the pipeline's scheduler config."""
    import diffusers
    from tailorgen.plugins.diffusers_options import SCHEDULERS

    class_name = SCHEDULERS.get(name.lower(), name)
    cls = getattr(diffusers, class_name, None)
    if cls is None or not class_name.endswith("Scheduler"):
        raise PluginError(
            f"diffusers: unknown scheduler {name!r}",
            f"use one of {', '.join(SCHEDULERS)} or a diffusers scheduler class name",
        )
    try:
        return cls.from_config(config, **extra)
    except ImportError as exc:  # e.g. DPMSolverSDEScheduler needs torchsde
        raise PluginError(
            f"diffusers: scheduler {class_name} cannot load: {' '.join(str(exc).split())}"
        ) from None


def _from_pretrained(opts: DiffusersOptions, dtype: Any, extra: dict[str, Any]) -> Any:
    from diffusers import DiffusionPipeline
    from tailorgen.runtime.progress import is_quiet

    if is_quiet():  # loading bars of diffusers and transformers, on stderr
        import diffusers.utils.logging
        import transformers.utils.logging

        diffusers.utils.logging.disable_progress_bar()
        transformers.utils.logging.disable_progress_bar()

    try:
        return DiffusionPipeline.from_pretrained(
            opts.model,
            dtype=dtype,
            revision=opts.revision,
            variant=opts.variant,
            use_safetensors=True,
            local_files_only=opts.local_files_only,
            **extra,
        )
    except (OSError, ValueError) as exc:
        raise PluginError(
            f"diffusers: cannot load pipeline {opts.model!r}: {first_line(exc)}",
            "use a Hub id (network or cache) or a directory with model_index.json and safetensors weights",
        ) from None


def _apply_speedups(pipe: Any, opts: DiffusersOptions, device: Any) -> Any:
    import torch

    if opts.offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif opts.offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    if opts.channels_last:
        for part in ("unet", "vae", "transformer"):
            if getattr(pipe, part, None) is not None:
                getattr(pipe, part).to(memory_format=torch.channels_last)
    if opts.vae_slicing:
        pipe.vae.enable_slicing()
    if opts.vae_tiling:
        pipe.vae.enable_tiling()
    if opts.attention_slicing:
        pipe.enable_attention_slicing()
    if opts.compile:
        denoiser = "unet" if getattr(pipe, "unet", None) is not None else "transformer"
        setattr(pipe, denoiser, torch.compile(getattr(pipe, denoiser), mode=opts.compile_mode))
    return pipe


def _load_lora(pipe: Any, opts: DiffusersOptions) -> None:
    """``load_lora_weights`` from safetensors only (diffusers would fall back to pickle), then fuse."""
    import importlib.util

    if importlib.util.find_spec("peft") is None:
        raise PluginError(
            f"diffusers: LoRA {opts.lora!r} needs the peft package", "pip install 'tailorgen[lora]'"
        )
    try:
        pipe.load_lora_weights(opts.lora, use_safetensors=True, local_files_only=opts.local_files_only)
    except (OSError, ValueError) as exc:
        raise PluginError(
            f"diffusers: cannot load LoRA {opts.lora!r}: {first_line(exc)}",
            "point lora at a Hub id or folder with pytorch_lora_weights.safetensors (safetensors only)",
        ) from None
    pipe.fuse_lora(lora_scale=opts.lora_scale)


def load_pipeline(opts: DiffusersOptions, device: Any, dtype: Any) -> Any:
    """Build the configured pipeline (never runs remote code; refuses pickle weights)."""
    extra: dict[str, Any] = {}
    if opts.text_encoder:
        extra["text_encoder"] = load_text_encoder(opts.text_encoder, dtype)
    pipe = _from_pretrained(opts, dtype, extra)
    if opts.scheduler:
        pipe.scheduler = make_scheduler(opts.scheduler, pipe.scheduler.config, opts.scheduler_options)
    if opts.lora:
        _load_lora(pipe, opts)
    pipe.set_progress_bar_config(disable=True)
    return _apply_speedups(pipe, opts, device)

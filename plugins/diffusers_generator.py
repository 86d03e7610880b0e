"""Generator ``diffusers``: any diffusers text-to-image pipeline, one seed per image."""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tailorgen.errors import PluginError
from tailorgen.plugins.diffusers_grad import DiffusersGradMixin
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import Generator

__all__ = ["NEGATIVE_PROMPT", "SCHEDULERS", "DiffusersGenerator", "register_generators"]

#: The fixed negative prompt of the method, verbatim from the reference code (docs/method.md, step 3).
NEGATIVE_PROMPT = (
    "watermark, text, poorly-drawn-eyes, poorly-drawn-fingers, bad-anatomy, ugly, extra fingers, "
    "extra limbs, missing fingers, missing limbs, deformed, mutated hands and fingers"
)

#: Short scheduler names; any diffusers scheduler class name (``"DDIMScheduler"``) works as well.
SCHEDULERS: dict[str, str] = {
    "euler": "EulerDiscreteScheduler",
    "euler-ancestral": "EulerAncestralDiscreteScheduler",
    "ddim": "DDIMScheduler",
    "ddpm": "DDPMScheduler",
    "pndm": "PNDMScheduler",
    "lms": "LMSDiscreteScheduler",
    "heun": "HeunDiscreteScheduler",
    "dpm++": "DPMSolverMultistepScheduler",
    "unipc": "UniPCMultistepScheduler",
    "lcm": "LCMScheduler",
    "tcd": "TCDScheduler",
}


class DiffusersOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field("stabilityai/stable-diffusion-2", description="Hub id or local pipeline directory.")
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit).")
    variant: str | None = Field(None, description="Weight variant, e.g. 'fp16'.")
    local_files_only: bool = Field(False, description="Never contact the Hub (use the local cache).")
    scheduler: str | None = Field(
        "euler",
        description=f"Sampler: {', '.join(SCHEDULERS)}, a diffusers class name, or null to keep the model's.",
    )
    scheduler_options: dict[str, Any] = Field(
        default_factory=dict, description="Extra scheduler config, e.g. {use_karras_sigmas = true}."
    )
    num_inference_steps: int = Field(50, ge=1, description="Sampling steps.")
    guidance_scale: float = Field(7.5, ge=0, description="Classifier-free guidance scale.")
    height: int | None = Field(768, ge=8, description="Image height in pixels (null: the model's default).")
    width: int | None = Field(768, ge=8, description="Image width in pixels (null: the model's default).")
    negative_prompt: str = Field(NEGATIVE_PROMPT, description="Negative prompt used for every image.")
    batch_size: int = Field(4, ge=1, description="Images per pipeline call.")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps (auto: this process's GPU).")
    dtype: str = Field("auto", description="auto (fp16 on CUDA, else fp32), float32, float16 or bfloat16.")
    text_encoder: str | None = Field(
        None, description="Directory of a fine-tuned CLIPTextModel (save_pretrained layout, safetensors)."
    )
    lora: str | None = Field(None, description="LoRA weights (Hub id or directory) for load_lora_weights.")
    lora_scale: float = Field(1.0, description="LoRA strength.")
    channels_last: bool = Field(False, description="UNet and VAE in channels-last memory format.")
    compile: bool = Field(False, description="torch.compile the UNet.")
    compile_mode: str | None = Field(None, description="torch.compile mode, e.g. 'max-autotune'.")
    vae_slicing: bool = Field(False, description="Decode the batch one image at a time (less memory).")
    vae_tiling: bool = Field(False, description="Decode in tiles (large images, less memory).")
    attention_slicing: bool = Field(False, description="Sliced attention (less memory, slower).")
    offload: Literal["none", "model", "sequential"] = Field("none", description="CPU offload (accelerate).")

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, value: str | None) -> str | None:
        # checked before any model loads; whether a class name exists is checked at load time
        if value is not None and value.lower() not in SCHEDULERS and not value.endswith("Scheduler"):
            raise ValueError(
                f"unknown scheduler {value!r}; use one of {', '.join(SCHEDULERS)} or a class name"
            )
        return value


class DiffusersGenerator(Generator, DiffusersGradMixin):
    """Text-to-image with a diffusers pipeline (Hub id or directory; safetensors only)."""

    name: ClassVar[str] = "diffusers"
    description: ClassVar[str] = (
        "Any diffusers text-to-image pipeline (default Stable Diffusion 2, Euler, CFG 7.5)."
    )
    Options: ClassVar[type[BaseModel]] = DiffusersOptions
    options: DiffusersOptions

    @functools.cached_property
    def device(self) -> Any:
        from tailorgen.devices import resolve_device

        return resolve_device(self.options.device)

    @functools.cached_property
    def dtype(self) -> Any:
        from tailorgen.devices import resolve_dtype

        return resolve_dtype(self.options.dtype, self.device)

    @functools.cached_property
    def pipeline(self) -> Any:
        """The diffusers pipeline, loaded on first use on the configured device and dtype."""
        from tailorgen.plugins.diffusers_setup import load_pipeline

        return load_pipeline(self.options, self.device, self.dtype)

    def generate(self, prompts: list[str], seeds: list[int]) -> list[Any]:
        """One PIL image per (prompt, seed); each image's noise comes from its own generator."""
        import torch

        if len(prompts) != len(seeds):
            raise PluginError(f"diffusers: {len(prompts)} prompts but {len(seeds)} seeds")
        opts = self.options
        images: list[Any] = []
        for start in range(0, len(prompts), opts.batch_size):
            chunk = prompts[start : start + opts.batch_size]
            # CPU generators: the initial noise is the same on every device type and rank
            generators = [
                torch.Generator("cpu").manual_seed(s) for s in seeds[start : start + opts.batch_size]
            ]
            with torch.inference_mode():
                out = self.pipeline(
                    prompt=chunk,
                    negative_prompt=[opts.negative_prompt] * len(chunk),
                    generator=generators,
                    num_inference_steps=opts.num_inference_steps,
                    guidance_scale=opts.guidance_scale,
                    height=opts.height,
                    width=opts.width,
                    output_type="pil",
                )
            images.extend(out.images)
        return images

    def text_encoder_source(self) -> str:
        """Which text encoder draws the images (for the data set card)."""
        return self.options.text_encoder or f"{self.options.model} (stock)"


@hookimpl
def register_generators(register: Any) -> None:
    register(DiffusersGenerator)

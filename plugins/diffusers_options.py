"""The ``diffusers`` generator's options, schedulers and the method's negative prompt.

A module of its own so that pipeline loading (``diffusers_setup``) and the generator both import it
without importing each other.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["NEGATIVE_PROMPT", "SCHEDULERS", "DiffusersOptions"]

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

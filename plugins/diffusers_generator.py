"""Generator ``diffusers``: any diffusers text-to-image pipeline, one seed per image."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from pydantic import BaseModel
from tailorgen.errors import PluginError
from tailorgen.plugins.diffusers_grad import DiffusersGradMixin
from tailorgen.plugins.diffusers_options import NEGATIVE_PROMPT, SCHEDULERS, DiffusersOptions
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import Generator

__all__ = ["NEGATIVE_PROMPT", "SCHEDULERS", "DiffusersGenerator", "register_generators"]


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
        from tailorgen.runtime.devices import resolve_device

        return resolve_device(self.options.device)

    @functools.cached_property
    def dtype(self) -> Any:
        from tailorgen.runtime.devices import resolve_dtype

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

"""Generator ``stripes``: horizontal colour stripes drawn from each image's seed (no model needed)."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.registry.roles import Generator

__all__ = ["StripesGenerator", "StripesOptions"]


class StripesOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")  # unknown option keys are an error

    size: int = Field(64, ge=8, le=1024, description="Width and height of each image in pixels.")
    stripes: int = Field(8, ge=1, le=256, description="Horizontal stripes per image.")


class StripesGenerator(Generator):
    name: ClassVar[str] = "stripes"
    description: ClassVar[str] = "Seeded colour stripes, one image per (prompt, seed) (an example)."
    Options: ClassVar[type[BaseModel]] = StripesOptions
    options: StripesOptions

    def generate(self, prompts: list[str], seeds: list[int]) -> list[Any]:
        import numpy as np  # inside the method: importing the plugin stays light
        from PIL import Image

        size, count = self.options.size, self.options.stripes
        images = []
        for prompt, seed in zip(prompts, seeds, strict=True):
            # each image's own generator, from its seed and prompt: batching never changes it
            digest = hashlib.sha256(f"{seed}\n{prompt}".encode()).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            colours = rng.integers(0, 256, (count, 1, 3), dtype=np.uint8)
            rows = np.repeat(colours, -(-size // count), axis=0)[:size]
            images.append(Image.fromarray(np.repeat(rows, size, axis=1)))
        return images

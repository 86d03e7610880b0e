"""Prompt writer ``shouty``: seeded, loud one-line scenes (no model needed)."""

from __future__ import annotations

import random
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.registry.roles import PromptWriter

__all__ = ["ShoutyOptions", "ShoutyWriter"]

_PLACES = ("ON A BEACH", "IN A KITCHEN", "AT THE PARK", "ON A SNOWY STREET", "IN A BARN", "BY A RIVER")


class ShoutyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")  # unknown option keys are an error

    exclamations: int = Field(1, ge=0, le=5, description="Exclamation marks after each prompt.")
    places: tuple[str, ...] = Field(_PLACES, min_length=1, description="Where the scenes happen.")


class ShoutyWriter(PromptWriter):
    name: ClassVar[str] = "shouty"
    description: ClassVar[str] = "Seeded upper-case scene prompts (an example third-party plugin)."
    Options: ClassVar[type[BaseModel]] = ShoutyOptions
    options: ShoutyOptions

    def write(self, requests: list[Any]) -> list[list[str]]:
        # One generator per request, seeded by the request alone: a request's texts never depend on
        # the other requests in the batch.
        out = []
        for request in requests:
            rng = random.Random(f"{request.seed}:{'+'.join(request.labels)}")
            subject = " NEXT TO ".join(f"A {label.upper()}" for label in request.labels)
            out.append(
                [
                    f"{subject} {rng.choice(self.options.places)}{'!' * self.options.exclamations}"
                    for _ in range(request.count)
                ]
            )
        return out

"""The license a synthetic data set states: the license of the generator model that drew it, when known.

Generated images inherit the terms of the model that drew them (e.g. the OpenRAIL use restrictions),
so a data set card names that model's license; for a model not listed here it says plainly that the
license is unknown (metadata ``license: other``) instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["KNOWN_GENERATOR_LICENSES", "DataLicense", "data_license", "generator_model"]

#: Hub model id -> its license id on the Hub (as the model's own card states it)
KNOWN_GENERATOR_LICENSES: dict[str, str] = {
    "CompVis/stable-diffusion-v1-4": "creativeml-openrail-m",
    "runwayml/stable-diffusion-v1-5": "creativeml-openrail-m",
    "stable-diffusion-v1-5/stable-diffusion-v1-5": "creativeml-openrail-m",
    "stabilityai/stable-diffusion-2": "openrail++",
    "stabilityai/stable-diffusion-2-base": "openrail++",
    "stabilityai/stable-diffusion-2-1": "openrail++",
    "stabilityai/stable-diffusion-2-1-base": "openrail++",
    "stabilityai/stable-diffusion-xl-base-1.0": "openrail++",
    "black-forest-labs/FLUX.1-schnell": "apache-2.0",
}


@dataclass(frozen=True)
class DataLicense:
    """``license`` for the card's metadata (a Hub license id, or ``other``) and a sentence for its text."""

    license: str
    statement: str


def generator_model(plugin: str | None, options: dict[str, Any]) -> str | None:
    """The model a generator plugin drew with: its ``model`` option, else that option's default."""
    if isinstance(options.get("model"), str):
        return options["model"]
    if not plugin:
        return None
    try:
        from tailorgen.registry import get_entry

        default = get_entry("generator", plugin).cls.Options.model_fields["model"].default
    except Exception:  # plugin not installed, or it has no model option: the model is not known
        return None
    return default if isinstance(default, str) else None


def data_license(model: str | None) -> DataLicense:
    """The license of images drawn by ``model`` (a Hub id or a local folder; ``None``: not recorded)."""
    from tailorgen.hub.card_text import public_name

    known = KNOWN_GENERATOR_LICENSES.get(model or "")
    if known:
        return DataLicense(
            known,
            f"License: `{known}`, the license of the generator model `{model}` that drew the images "
            "(its use restrictions apply to them too).",
        )
    drawn_by = (
        f"the generator model `{public_name(model)}`" if model else "a generator model that was not recorded"
    )
    return DataLicense(
        "other",
        f"License: unknown. The images were drawn by {drawn_by}, whose license tailorgen does not know; "
        "they fall under that model's license: check it before reusing them.",
    )

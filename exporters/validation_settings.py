"""How exported artefacts are checked (the ``[export]`` settings every validating exporter gets)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ValidationSettings"]


class ValidationSettings(BaseModel):
    """How exports are checked: batch size and seed of the random inputs (``[export]`` sets them)."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(3, ge=1, description="Batch of random images; must differ from the export batch.")
    seed: int = Field(0, description="Seed of the random images (the export stage derives it from run.seed).")
    allow_saturated: bool = Field(
        False, description="Keep an export whose check is mostly at 0/1 probabilities (it proves nothing)."
    )
    map_budget: float = Field(1.0, ge=0, description="mAP points a variant may lose on the evaluation split.")
    calibration_images: list[str] = Field(
        default_factory=list, description="Images static int8 is calibrated on (the run's synthetic images)."
    )
    accuracy_images: list[str] = Field(
        default_factory=list, description="Evaluation images every artefact's mAP is measured on."
    )
    accuracy_targets: list[list[int]] = Field(
        default_factory=list, description="0/1 targets of accuracy_images over the classifier's labels."
    )

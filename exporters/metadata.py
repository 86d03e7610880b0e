"""What an exported model says about itself: its label names, preprocessing and tailorgen version.

ONNX files carry it in ``metadata_props`` (one JSON value per key, readable by any ONNX tool);
TensorRT engines, which have no metadata, carry it in a JSON file beside the engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from tailorgen.errors import TailorgenError

__all__ = ["METADATA_KEYS", "OPTIONAL_METADATA_KEYS", "ModelMetadata", "embed_metadata", "read_onnx_metadata"]

#: metadata_props key -> ModelMetadata field
METADATA_KEYS: dict[str, str] = {
    "tailorgen.label_names": "label_names",
    "tailorgen.preprocess": "preprocess",
    "tailorgen.version": "version",
}
#: metadata_props key -> ModelMetadata field, written only when set (older exports lack them)
OPTIONAL_METADATA_KEYS: dict[str, str] = {"tailorgen.thresholds": "thresholds"}
_PREPROCESS_KEYS = ("image_size", "mean", "std", "interpolation")


class ModelMetadata(BaseModel):
    """Everything a predictor needs besides the graph: which labels, and how to prepare an image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label_names: list[str] = Field(min_length=1)
    preprocess: dict[str, Any]
    version: str
    #: per-label decision thresholds chosen on validation data (tailorgen.classifier.thresholds)
    thresholds: dict[str, float] | None = None

    @field_validator("preprocess")
    @classmethod
    def _complete(cls, value: dict[str, Any]) -> dict[str, Any]:
        missing = [key for key in _PREPROCESS_KEYS if key not in value]
        if missing:
            raise ValueError(f"preprocess lacks {', '.join(missing)}")
        return value

    @property
    def image_size(self) -> int:
        return int(self.preprocess["image_size"])

    @classmethod
    def from_classifier(cls, classifier: Any) -> ModelMetadata:
        from tailorgen import __version__

        preprocess = {"image_size": classifier.image_size, **dict(classifier.preprocess)}
        return cls(
            label_names=list(classifier.label_names),
            preprocess=preprocess,
            version=__version__,
            thresholds=getattr(classifier, "thresholds", None),
        )

    def to_props(self) -> dict[str, str]:
        keys = METADATA_KEYS | {
            k: n for k, n in OPTIONAL_METADATA_KEYS.items() if getattr(self, n) is not None
        }
        return {key: json.dumps(getattr(self, name)) for key, name in keys.items()}

    @classmethod
    def from_props(cls, props: dict[str, str], source: str) -> ModelMetadata:
        """Parse ``metadata_props``; a model not exported by tailorgen gets an error naming ``source``."""
        missing = [key for key in METADATA_KEYS if key not in props]
        if missing:
            raise TailorgenError(
                f"{source} has no tailorgen metadata ({', '.join(missing)} missing)",
                "export the model with tailorgen (tailorgen run CONFIG --stages export)",
            )
        keys = METADATA_KEYS | {k: n for k, n in OPTIONAL_METADATA_KEYS.items() if k in props}
        try:
            return cls(**{name: json.loads(props[key]) for key, name in keys.items()})
        except (ValueError, ValidationError) as exc:
            raise TailorgenError(f"{source} has unreadable tailorgen metadata: {exc}") from None

    @classmethod
    def from_json_file(cls, path: Path) -> ModelMetadata:
        try:
            return cls.model_validate_json(path.read_text())
        except (OSError, ValidationError) as exc:
            raise TailorgenError(f"cannot read model metadata {path}: {exc}") from None


def embed_metadata(model: Any, metadata: ModelMetadata) -> None:
    """Write ``metadata`` into an ``onnx.ModelProto``'s ``metadata_props`` (replacing older values)."""
    props = {
        p.key: p.value for p in model.metadata_props if p.key not in METADATA_KEYS | OPTIONAL_METADATA_KEYS
    }
    props.update(metadata.to_props())
    del model.metadata_props[:]
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)


def read_onnx_metadata(path: str | Path) -> ModelMetadata:
    """The metadata of an exported ``.onnx`` file (weights are not loaded)."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except (OSError, DecodeError) as exc:
        raise TailorgenError(f"cannot read ONNX model {path}: {exc}") from None
    return ModelMetadata.from_props({p.key: p.value for p in model.metadata_props}, str(path))

"""Share tailorgen models, synthetic data sets and fine-tuned text encoders on the Hugging Face Hub."""

from __future__ import annotations

from tailorgen.hub.discovery import PublishedModel, find_models
from tailorgen.hub.publish import check_repo_id, publish

__all__ = ["PublishedModel", "check_repo_id", "find_models", "publish"]

"""A Hugging Face Space (Gradio) for a trained classifier: ``tailorgen space MODEL --out DIR``."""

from __future__ import annotations

__all__: list[str] = []

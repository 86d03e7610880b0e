"""A Hugging Face Space (Gradio) for a trained classifier: ``tailorgen space MODEL --out DIR``."""

from __future__ import annotations

from tailorgen.space.writer import write_space

__all__ = ["write_space"]

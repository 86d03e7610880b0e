"""Stage the fine-tuned diffusion text encoder in the diffusers layout (``text_encoder/``), with a card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.hub.card_text import labels_section, plugin_line, public_name
from tailorgen.hub.run_facts import RunFacts
from tailorgen.hub.upload import link_or_copy

__all__ = ["base_pipeline", "stage_text_encoder"]


def base_pipeline(facts: RunFacts) -> str | None:
    """The diffusers pipeline the encoder was tuned for (the generator's ``model`` option)."""
    options = facts.plugin("generator").get("options") or {}
    model = options.get("model") or options.get("pipeline") or options.get("model_id")
    return str(model) if model else None


def _card(facts: RunFacts, repo_id: str, base: str | None) -> Any:
    from huggingface_hub import ModelCard, ModelCardData

    is_hub_id = bool(base) and base.count("/") == 1 and not Path(base).exists()  # type: ignore[union-attr]
    data = ModelCardData(
        library_name="diffusers",
        pipeline_tag="text-to-image",
        tags=["tailorgen", "text-encoder", "synthetic-data", "stable-diffusion"],
        base_model=base if is_hub_id else None,
    )
    pipeline = public_name(base) if base else "<the base pipeline>"
    body = f"""
# {repo_id.rsplit("/", maxsplit=1)[-1]}

The text encoder of the diffusion pipeline `{pipeline}`, fine-tuned by
[tailorgen](https://github.com/tailorgen/tailorgen) with the L_TE loss: images generated for combinations
of the labels below are more often accepted by the CLIP filter. Only the text encoder changed; use it
with the UNet, VAE, tokenizer and scheduler of `{pipeline}`.

Generator settings of the run: {plugin_line(facts, "generator")}.

## Labels it was tuned for

{labels_section(facts)}

## Use

```python
from diffusers import StableDiffusionPipeline
from transformers import CLIPTextModel

text_encoder = CLIPTextModel.from_pretrained("{repo_id}", subfolder="text_encoder")
pipe = StableDiffusionPipeline.from_pretrained("{pipeline}", text_encoder=text_encoder)
image = pipe("a dog next to a skateboard on a sunny street").images[0]
```

In a tailorgen run config, download it (`hf download {repo_id} --local-dir te`) and set
`[generator] options = {{ model = "{pipeline}", text_encoder = "te/text_encoder" }}`.

## Limitations

Tuned for one label set with a CLIP-based reward: prompts far from these labels may render worse
than with the original encoder.
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def stage_text_encoder(facts: RunFacts, folder: Path, repo_id: str) -> list[str]:
    source = facts.text_encoder_dir
    has_weights = source.is_dir() and any(source.glob("*.safetensors"))  # one file or shards + index
    if not (has_weights and (source / "config.json").is_file()):
        raise TailorgenError(
            f"no fine-tuned text encoder in {source} (config.json + *.safetensors)",
            "run the finetune stage first",
        )
    for path in sorted(source.iterdir()):
        if path.is_file() and path.suffix in {".json", ".safetensors", ".txt"}:
            link_or_copy(path, folder / "text_encoder" / path.name)
    (folder / "README.md").write_text(str(_card(facts, repo_id, base_pipeline(facts))), encoding="utf-8")
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())

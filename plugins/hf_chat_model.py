"""Loading a chat LM and sampling from it with one random generator per row (torch/transformers)."""

from __future__ import annotations

from typing import Any

import torch
from tailorgen.errors import TailorgenError, first_line
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
)

__all__ = ["RowSampler", "generate_replies", "load_chat_model", "reply_budget"]

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_chat_model(options: Any) -> tuple[Any, Any]:
    """The model (eval mode, on its device) and its tokenizer, padding on the left for generation."""
    device = _device(options.device)
    dtype = _DTYPES.get(options.dtype, torch.float16 if device.type == "cuda" else torch.float32)
    common = {"revision": options.revision, "trust_remote_code": options.trust_remote_code}
    try:
        tokenizer = AutoTokenizer.from_pretrained(options.model, **common)
        model = AutoModelForCausalLM.from_pretrained(
            options.model, dtype=dtype, use_safetensors=True, **common
        )
    except (OSError, ValueError) as exc:
        raise TailorgenError(
            f"cannot load chat LM {options.model!r}: {first_line(exc)}",
            "check prompt_writer.options.model (a Hub id or a local directory with safetensors weights); "
            "offline machines need a local copy",
        ) from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device).eval(), tokenizer


class RowSampler(LogitsProcessor):
    """Temperature + nucleus sampling with one seeded generator per batch row.

    It returns logits that keep only the sampled token, so greedy decoding emits exactly it; a row's
    tokens then depend on its own seed, not on the batch it was generated in.
    """

    def __init__(self, seeds: list[int], temperature: float, top_p: float) -> None:
        self.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = torch.softmax(scores.float().cpu() / self.temperature, dim=-1)
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # keep the smallest prefix whose mass reaches top_p (always at least the top token)
        outside = sorted_probs.cumsum(-1) - sorted_probs >= self.top_p
        sorted_probs = sorted_probs.masked_fill(outside, 0.0)
        picks = [
            order[row, torch.multinomial(sorted_probs[row], 1, generator=gen)]
            for row, gen in enumerate(self.generators)
        ]
        chosen = torch.stack(picks).to(scores.device)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter(1, chosen, 0.0)


def reply_budget(prompt_tokens: int, options: Any) -> int:
    """New tokens allowed: ``max_new_tokens``, less where ``max_total_tokens`` caps prompt + reply
    (the reference's Llama: ``max_seq_len`` 512 for both; at least one token)."""
    cap = getattr(options, "max_total_tokens", None)
    if cap is None:
        return int(options.max_new_tokens)
    return max(1, min(int(options.max_new_tokens), cap - prompt_tokens))


def generate_replies(
    model: Any, tokenizer: Any, prompts: list[str], seeds: list[int], options: Any
) -> list[str]:
    """One sampled reply per chat-formatted prompt."""
    batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    config = GenerationConfig(
        do_sample=False,
        max_new_tokens=reply_budget(batch["input_ids"].shape[1], options),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    sampler = RowSampler(seeds, options.temperature, options.top_p)
    with torch.inference_mode():
        out = model.generate(
            **batch, generation_config=config, logits_processor=LogitsProcessorList([sampler])
        )
    return tokenizer.batch_decode(out[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)

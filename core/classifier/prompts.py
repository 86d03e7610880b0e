"""Learnable class-agnostic positive and negative prompt contexts through a frozen CLIP text tower."""

from __future__ import annotations

from typing import Any

import torch
from tailorgen.errors import TailorgenError
from torch import nn

__all__ = ["PromptContexts"]


def _prompt_text(n_ctx: int, name: str) -> str:
    # "x" is a single BPE token: its n_ctx embeddings are replaced by the learned contexts.
    return " ".join(["x"] * n_ctx) + " " + name.replace("_", " ") + "."


class PromptContexts(nn.Module):
    """``[SOS] ctx_1..ctx_n <name>. [EOS]`` for a positive and a negative context, any label names."""

    def __init__(self, n_ctx: int, width: int, context_length: int, init_std: float = 0.02) -> None:
        super().__init__()
        if not 1 <= n_ctx <= context_length - 3:
            raise TailorgenError(
                f"n_ctx={n_ctx} does not fit the text context of {context_length} tokens",
                f"use 1 <= n_ctx <= {context_length - 3}",
            )
        self.n_ctx = n_ctx
        self.context_length = context_length
        self.ctx_pos = nn.Parameter(torch.randn(n_ctx, width) * init_std)
        self.ctx_neg = nn.Parameter(torch.randn(n_ctx, width) * init_std)

    def tokenize(self, names: list[str]) -> torch.Tensor:
        from open_clip.tokenizer import SimpleTokenizer

        if not names or any(not str(n).strip() for n in names):
            raise TailorgenError("label names must be non-empty strings", "check the label list")
        tokenizer = _tokenizer(SimpleTokenizer, self.context_length)
        return tokenizer([_prompt_text(self.n_ctx, n) for n in names])

    def encode(self, clip: Any, names: list[str]) -> torch.Tensor:
        """Normalised text features (2, C, D): index 0 negative, index 1 positive."""
        from open_clip.transformer import text_global_pool

        device = clip.token_embedding.weight.device
        tokens = self.tokenize(names).to(device)
        cast = clip.transformer.get_cast_dtype()
        embedded = clip.token_embedding(tokens).to(cast)  # (C, L, W)
        count = len(names)
        parts = []
        for ctx in (self.ctx_neg, self.ctx_pos):
            ctx_rows = ctx.to(cast).unsqueeze(0).expand(count, -1, -1)
            x = torch.cat([embedded[:, :1], ctx_rows, embedded[:, 1 + self.n_ctx :]], dim=1)
            parts.append(x)
        x = torch.cat(parts) + clip.positional_embedding.to(cast)
        x = clip.ln_final(clip.transformer(x, attn_mask=clip.attn_mask))
        pooled = text_global_pool(
            x, tokens.repeat(2, 1), clip.text_pool_type, eos_token_id=getattr(clip, "text_eos_id", None)
        )
        projected = (
            pooled @ clip.text_projection
            if not isinstance(clip.text_projection, nn.Linear)
            else (clip.text_projection(pooled))
        )
        return nn.functional.normalize(projected, dim=-1).view(2, count, -1)


_TOKENIZERS: dict[int, Any] = {}


def _tokenizer(factory: Any, context_length: int) -> Any:
    # Building the BPE tables takes ~0.3 s; one per context length is plenty.
    if context_length not in _TOKENIZERS:
        _TOKENIZERS[context_length] = factory(context_length=context_length)
    return _TOKENIZERS[context_length]

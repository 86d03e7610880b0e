"""Embedding diversity: mean pairwise cosine distance of prompt embeddings.

Any transformers encoder (a sentence-embedding model directory or Hub id) works: token states are
mean-pooled over the attention mask, as sentence-transformers does, without needing that package.
"""

from __future__ import annotations

from collections.abc import Sequence

from tailorgen.errors import TailorgenError, first_line

__all__ = ["embed_texts", "mean_pairwise_cosine_distance"]


def embed_texts(texts: Sequence[str], model: str, *, batch_size: int = 32, device: str = "cpu") -> object:
    """L2-normalised mean-pooled embeddings, a float tensor (len(texts), dim)."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a causal LM's unused head is reported as "UNEXPECTED": not our concern
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
        encoder = AutoModel.from_pretrained(model).to(device).eval()
    except (OSError, ValueError) as exc:
        raise TailorgenError(
            f"cannot load embedding model {model!r}: {first_line(exc)}",
            "set prompts.embedder to a local model directory or Hub id (or remove it)",
        ) from None
    finally:
        hf_logging.set_verbosity(verbosity)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                list(texts[start : start + batch_size]), padding=True, truncation=True, return_tensors="pt"
            ).to(device)
            states = encoder(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp_min(1.0)
            chunks.append(torch.nn.functional.normalize(pooled, dim=-1).cpu())
    return torch.cat(chunks)


def mean_pairwise_cosine_distance(embeddings: object) -> float:
    """``1 - mean cos`` over all pairs i != j of unit vectors, in O(n) via the sum vector."""
    import torch

    emb = torch.as_tensor(embeddings, dtype=torch.float64)
    n = emb.shape[0]
    if n < 2:
        return 0.0
    total = emb.sum(0)
    mean_cos = (total @ total - (emb * emb).sum()) / (n * (n - 1))
    return float(1.0 - mean_cos)

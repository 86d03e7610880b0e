"""A transformers ``CLIPTokenizer`` built offline from the BPE vocabulary open_clip ships."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

__all__ = ["build_clip_tokenizer"]


def _bpe_merges() -> list[tuple[str, str]]:
    import open_clip

    # Same slice as open_clip's SimpleTokenizer: skip the header line, keep 49152 - 256 - 2 merges.
    with gzip.open(open_clip.tokenizer.default_bpe()) as file:
        lines = file.read().decode("utf-8").split("\n")
    return [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]  # type: ignore[misc]


def _vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    from open_clip.tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    words = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges]
    words += ["<|startoftext|>", "<|endoftext|>"]
    return {w: i for i, w in enumerate(words)}


def build_clip_tokenizer(directory: str | Path | None = None) -> Any:
    """The real CLIP tokenizer (49408 tokens, ids identical to open_clip's); saved if ``directory``."""
    from transformers import CLIPTokenizer

    merges = _bpe_merges()
    # transformers 5 wants `vocab=`/`merges=` objects; `vocab_file=` is silently ignored there.
    tokenizer = CLIPTokenizer(
        vocab=_vocab(merges),
        merges=merges,
        model_max_length=77,
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    if directory is not None:
        tokenizer.save_pretrained(str(directory))
    return tokenizer

"""A tiny Llama-architecture chat LM with a byte-level BPE tokenizer trained offline on a small corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["CHAT_TEMPLATE", "build_causal_lm"]

_SPECIAL = ["<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]

#: a Zephyr-style template: every turn ends with <|end|>, which is also the end-of-sequence token.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)

_CORPUS = """\
Write ten different one-phrase scene descriptions that contain every label.
A person riding a bicycle next to a car on a busy street in the city at sunset.
A red bus parked next to a white truck near a train station on a rainy morning.
A small boat floating on a calm lake next to a horse grazing on the green shore.
A fluffy cat sleeping on a couch next to a dog chewing a toy in a cozy living room.
A brown cow standing in a field next to an elephant under a bright blue sky.
1. A photo of an airplane flying over a motorcycle on an empty desert highway.
2. Two people with an umbrella and a tie walking past a bird sitting on a bench.
Here are ten descriptions: a cup, a knife, a cake, a sink, scissors, a keyboard, a snowboard, a skateboard.
Sure! The person, the dog and the cat are next to each other in the garden.
"""


def _tokenizer(vocab_size: int) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=_SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodes: no unknown text
        show_progress=False,
    )
    core.train_from_iterator(_CORPUS.splitlines(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        eos_token="<|end|>",
        unk_token="<unk>",
        pad_token="</s>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=512,
    )


def build_causal_lm(directory: str | Path, seed: int = 0) -> Path:
    """Write a random ``LlamaForCausalLM`` + fast tokenizer with a chat template to ``directory``."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = _tokenizer(vocab_size=512)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    path = Path(directory)
    model.save_pretrained(str(path), safe_serialization=True)
    tokenizer.save_pretrained(str(path))
    return path

"""``hf-chat`` prompt writer: any transformers chat/instruct causal LM (Hub id or local directory).

Sampling is seeded per request, not per batch: each row draws its tokens with its own generator
(:class:`RowSampler`), so a label set gets the same reply whichever sets share its batch, and a
resumed run writes what an uninterrupted one would have. (Measured on an H200: true in float32 and
float16; in bfloat16 a different batch shape can round a logit differently and change a reply, so a
resumed bfloat16 run is complete and duplicate-free but not always byte-identical to an uninterrupted one.)
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field
from tailorgen.errors import TailorgenError
from tailorgen.prompting.dialog import DEFAULT_INSTRUCTION, ChatDialogOptions, chat_messages
from tailorgen.prompting.request import PromptRequest
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import PromptWriter
from tailorgen.runtime.progress import progress

__all__ = ["DEFAULT_INSTRUCTION", "HFChatOptions", "HFChatWriter"]


class HFChatOptions(ChatDialogOptions):
    """The dialog and sampling (shared with every chat-LM writer) plus where and how the model runs."""

    model: str = Field("meta-llama/Llama-2-7b-chat-hf", description="Hub id or local directory of a chat LM.")
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit) to pin.")
    max_new_tokens: int = Field(512, ge=1, description="Most tokens generated per reply.")
    max_total_tokens: int | None = Field(
        None,
        ge=2,
        description="Most tokens of prompt and reply together (the reference's Llama max_seq_len: 512); none: no cap.",
    )
    batch_size: int = Field(8, ge=1, description="Label sets generated together.")
    device: str = Field("auto", description="'auto' (cuda if available), 'cpu', 'cuda', 'cuda:1', ...")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="Weights dtype (auto: float16 on CUDA, else float32)."
    )
    trust_remote_code: bool = Field(
        False, description="Run code shipped with the model (only if you trust it)."
    )


class HFChatWriter(PromptWriter):
    """Asks a transformers chat LM for scene descriptions (temperature/top-p sampling, batched)."""

    name: ClassVar[str] = "hf-chat"
    description: ClassVar[str] = "A transformers chat LM (default Llama-2-7b-chat) writes the prompts."
    Options: ClassVar[type[BaseModel]] = HFChatOptions
    #: options that do not change the text written (left out of the resume fingerprint)
    runtime_options: ClassVar[frozenset[str]] = frozenset({"device", "batch_size"})
    options: HFChatOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._loaded: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from tailorgen.plugins.hf_chat_model import load_chat_model

            self._loaded = load_chat_model(self.options)
        return self._loaded

    def write(self, requests: list[PromptRequest]) -> list[list[str]]:
        from tailorgen.plugins.hf_chat_model import generate_replies

        model, tokenizer = self._load()
        replies: list[list[str]] = []
        size = self.options.batch_size
        with progress(total=len(requests), desc="hf-chat", unit="set", leave=False) as bar:
            for start in range(0, len(requests), size):
                batch = requests[start : start + size]
                prompts = [self._chat(tokenizer, request) for request in batch]
                texts = generate_replies(model, tokenizer, prompts, [r.seed for r in batch], self.options)
                replies.extend([text] for text in texts)
                bar.update(len(batch))
        return replies

    def _chat(self, tokenizer: Any, request: PromptRequest) -> str:
        messages = chat_messages(self.options, request)
        if not getattr(tokenizer, "chat_template", None):
            raise TailorgenError(
                f"model {self.options.model!r} has no chat template",
                "use a chat/instruct model, or give its tokenizer a chat_template",
            )
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@hookimpl
def register_prompt_writers(register):  # type: ignore[no-untyped-def]
    register(HFChatWriter)

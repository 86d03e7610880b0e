"""Run protocols: ``[run] protocol = "clean"`` (tailorgen's defaults) or ``"reference"``.

The reference protocol reproduces the authors' public code where tailorgen's default differs
(docs/method.md, "Differences from the reference code"). Each difference is an ordinary option of
its own; the protocol only changes that option's default, so a value the user sets (file,
environment or ``--set``) always wins. Switches marked for one paper setting (``coco`` or
``nus-wide``, told apart by the label preset's name) apply only there; plugin options apply only
when that plugin fills the role.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "PROTOCOLS",
    "REFERENCE_SWITCHES",
    "Protocol",
    "Switch",
    "apply_protocol",
    "describe_protocol",
    "paper_setting",
]

Protocol = Literal["clean", "reference"]
PROTOCOLS: tuple[str, ...] = ("clean", "reference")


@dataclass(frozen=True)
class Switch:
    """One option the reference protocol sets: ``section.key`` (or ``role.options.key`` with ``plugin``)."""

    section: str
    key: str
    value: Any
    #: the reference code's behaviour, in words (shown by ``--dry-run``)
    what: str
    #: only for this paper setting ("coco" or "nus-wide"); None: both
    setting: str | None = None
    #: a plugin option: only when this plugin fills the role named by ``section``
    plugin: str | None = None
    #: left out when the same section sets this key to this value (a choice the switch contradicts)
    unless: tuple[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.section}.options.{self.key}" if self.plugin else f"{self.section}.{self.key}"


REFERENCE_SWITCHES: tuple[Switch, ...] = (
    Switch("train", "warmup_epochs", 1, "one scheduler step at the constant warm-up lr"),
    Switch("train", "warmup_lr", 1e-5, "warm-up lr of every parameter group"),
    Switch(
        "train",
        "schedule_step",
        "pass",
        "CosineAnnealingLR(T_max=epochs) and its warm-up stepped after every pass (twice per epoch): "
        "the warm-up covers only epoch 1's real pass",
    ),
    Switch("train", "selection_metric", "f1@3", "the checkpoint with the best F1@3 is kept"),
    Switch(
        "train",
        "select_checkpoints",
        "zsl-and-gzsl",
        "separate best-ZSL and best-GZSL checkpoints; GZSL is evaluated with the latter",
        unless=("selection", "zero-shot"),
    ),
    Switch(
        "train",
        "augment",
        "reference",
        "CutoutPIL (half side, random colour) on every image, then RandAugment 2 of 15 ops",
    ),
    Switch("train", "interpolation", "bilinear", "bilinear resize to S x S"),
    Switch("train", "mixed_precision", "no", "classifier trained in fp32"),
    Switch("train", "loss_eps", 1e-6, "asymmetric loss log clamp"),
    Switch("generate", "image_format", "jpeg", "synthetic images saved as JPEG"),
    Switch("generate", "jpeg_quality", 75, "PIL's default JPEG quality"),
    Switch("generate", "extra_draw", True, "COCO: one extra draw for a set a duplicate left short", "coco"),
    Switch("generate", "extra_draw", False, "NUS-WIDE: k draws, no extra draw for a short set", "nus-wide"),
    Switch("finetune", "label_sets", "generation", "L_TE label sets drawn as the generation draws them"),
    Switch(
        "finetune",
        "label_quota",
        20,
        "NUS-WIDE: a label leaves the L_TE pool after syn_num (20) counted accepted images",
        "nus-wide",
    ),
    Switch("finetune", "log_clamp", 1e-8, "L_TE log(v) clamped at 1e-8"),
    Switch(
        "prompt_writer",
        "max_total_tokens",
        512,
        "Llama's max_seq_len: prompt and reply together at most 512 tokens",
        plugin="hf-chat",
    ),
    Switch(
        "discriminator",
        "logit_scale",
        "model",
        "the filter's logits: the CLIP's learned logit_scale.exp() x cosine (100 for OpenAI's CLIPs)",
        plugin="open-clip",
    ),
    Switch(
        "fusion_head",
        "init_std",
        1e-4,
        "fusion branch's output scale initialised from N(0, 1e-4)",
        plugin="global-branch",
    ),
)


def paper_setting(labels: Any) -> str:
    """``"nus-wide"`` for a NUS-WIDE label preset or file (by name), else ``"coco"``."""
    name = Path(labels).stem if isinstance(labels, str) else str(dict(labels).get("name", ""))
    return "nus-wide" if name.lower().startswith("nus-wide") else "coco"


def _applies(config: Any, switch: Switch) -> bool:
    if switch.setting is not None and switch.setting != paper_setting(config.labels):
        return False
    if switch.plugin is not None:
        spec = getattr(config, switch.section, None)
        return spec is not None and spec.plugin == switch.plugin
    if switch.unless is not None:
        key, value = switch.unless
        return _options(config, switch).get(key) != value
    return True


def _options(config: Any, switch: Switch) -> dict[str, Any]:
    section = getattr(config, switch.section)
    return section.options if switch.plugin else section


def apply_protocol(config: Any) -> Any:
    """Fill the protocol's defaults into ``config`` (a RunConfig) in place; set values are kept."""
    if config.run.protocol == "reference":
        for switch in REFERENCE_SWITCHES:
            if _applies(config, switch):
                _options(config, switch).setdefault(switch.key, switch.value)
    return config


def describe_protocol(config: Any) -> dict[str, Any]:
    """For ``--dry-run``: the protocol and, for the reference, each switch's value in this run."""
    out: dict[str, Any] = {"name": config.run.protocol}
    if config.run.protocol != "reference":
        return out
    switches = {}
    for switch in REFERENCE_SWITCHES:
        if not _applies(config, switch):
            if switch.unless is not None and _applies(config, replace(switch, unless=None)):
                key, value = switch.unless
                switches[switch.name] = f"not applied: {switch.section}.{key} = {value!r}"
            continue
        value = _options(config, switch).get(switch.key)
        mark = "" if value == switch.value else f" (set by the config; the reference: {switch.value!r})"
        switches[switch.name] = f"{value!r}: {switch.what}{mark}"
    out["switches"] = switches
    return out

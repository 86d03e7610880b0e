"""The DualCoOp-style multi-label classifier: frozen CLIP, learned prompt contexts, a fusion head."""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub import PyTorchModelHubMixin
from tailorgen import __version__
from tailorgen.classifier.backbone import build_clip, load_backbone
from tailorgen.classifier.hub_card import HubCardMixin
from tailorgen.classifier.prompts import PromptContexts
from tailorgen.classifier.regions import region_features
from tailorgen.classifier.scales import AUTO, PAPER_AGGREGATION_SCALE, PAPER_LOGIT_SCALE, resolve_scales
from tailorgen.classifier.serialization import LoadingMixin
from tailorgen.classifier.transforms import DEFAULT_RESIZE, eval_transform, resize_mode
from tailorgen.errors import TailorgenError
from torch import nn

__all__ = ["Classifier"]


class Classifier(
    LoadingMixin,
    HubCardMixin,
    nn.Module,
    PyTorchModelHubMixin,
    library_name="tailorgen",
    tags=["tailorgen", "zero-shot-multi-label", "image-classification", "clip", "dualcoop"],
    pipeline_tag="image-classification",
    license="apache-2.0",
    repo_url="https://github.com/tailorgen/tailorgen",
    paper_url="https://arxiv.org/abs/2404.03144",
):
    """Per-label probabilities for images; any label names can be scored (open vocabulary).

    Every ``__init__`` argument is JSON and lands in ``config.json``, so ``from_pretrained`` rebuilds
    the whole network offline; ``model.safetensors`` holds all weights (towers included).
    """

    def __init__(
        self,
        *,
        clip_config: dict[str, Any],
        label_names: list[str],
        seen: list[str] | None = None,
        unseen: list[str] | None = None,
        fusion_head: str = "none",
        fusion_options: dict[str, Any] | None = None,
        n_ctx: int = 64,
        preprocess: dict[str, Any] | None = None,
        backbone: str = "",
        logit_scale: float = 20.0,
        aggregation_scale: float = 5.0,
        tailorgen_version: str = __version__,
    ) -> None:
        super().__init__()
        from tailorgen.registry import create

        self.label_names = list(label_names)
        self.seen = list(seen or [])
        self.unseen = list(unseen or [])
        self.logit_scale = float(logit_scale)
        self.aggregation_scale = float(aggregation_scale)
        self.preprocess = dict(preprocess or {})
        self.clip = build_clip(clip_config)
        self.clip.requires_grad_(False)
        text_cfg = clip_config["text_cfg"]
        self.prompt = PromptContexts(n_ctx, text_cfg["width"], text_cfg.get("context_length", 77))
        self.fusion = create("fusion_head", fusion_head, fusion_options or {})
        self._fusion_params = list(self.fusion.attach(self.clip.visual))
        dim = self.clip.text_projection.shape[-1]
        # Text features of ``label_names`` for inference: a plain buffer, so an exported graph
        # holds them as a constant. Refreshed whenever the model enters eval mode.
        self.register_buffer("text_features", torch.zeros(2, len(self.label_names), dim), persistent=False)

    @classmethod
    def build(
        cls,
        backbone: str,
        label_names: list[str],
        *,
        fusion_head: str = "none",
        fusion_options: dict[str, Any] | None = None,
        n_ctx: int = 64,
        pretrained: str | None = None,
        resize: str = DEFAULT_RESIZE,
        interpolation: str | None = None,
        **config: Any,
    ) -> Classifier:
        """A fresh classifier on an open_clip backbone (name + ``pretrained`` tag, ``local-dir:``, ``hf-hub:``).

        ``resize`` (``whole`` or ``crop``, see :mod:`tailorgen.classifier.transforms`) is saved in
        its preprocess config, so predictors and exports prepare images the way it was trained; so is
        ``interpolation`` (the resize filter; default: the backbone's).
        ``logit_scale`` / ``aggregation_scale`` may be ``"auto"``: derived from the backbone's learned
        logit scale (:func:`~tailorgen.classifier.scales.resolve_scales`; a real CLIP gets 20 and 5).
        """
        if backbone.startswith(("local-dir:", "hf-hub:")):
            pretrained = None  # the schema names the weights too
        clip, clip_config, preprocess = load_backbone(backbone, pretrained)
        if AUTO in (config.get("logit_scale"), config.get("aggregation_scale")):
            config["logit_scale"], config["aggregation_scale"] = resolve_scales(
                config.get("logit_scale", PAPER_LOGIT_SCALE),
                config.get("aggregation_scale", PAPER_AGGREGATION_SCALE),
                float(clip.logit_scale.detach().exp()),
            )
        preprocess = {**preprocess, "resize": resize}
        if interpolation is not None:
            preprocess["interpolation"] = interpolation
        resize_mode(preprocess)  # an unknown mode fails here, before a model is built
        model = cls(
            clip_config=clip_config,
            label_names=label_names,
            fusion_head=fusion_head,
            fusion_options=fusion_options or {},
            n_ctx=n_ctx,
            preprocess=preprocess,
            backbone=backbone if pretrained is None else f"{backbone}:{pretrained}",
            **config,
        )
        # strict=False: the fusion head's new parameters are not in the pretrained weights
        result = model.clip.load_state_dict(clip.state_dict(), strict=False)
        if result.unexpected_keys:
            raise TailorgenError(
                f"fusion head {fusion_head!r} renamed pretrained weights ({result.unexpected_keys[0]}, ...)",
                "a fusion head must keep the tower's parameter names (add submodules, do not re-wrap)",
            )
        return model.eval()

    # -- parameters ------------------------------------------------------------------------------
    def context_parameters(self) -> list[nn.Parameter]:
        return [self.prompt.ctx_pos, self.prompt.ctx_neg]

    def fusion_parameters(self) -> list[nn.Parameter]:
        return list(self._fusion_params)

    def train(self, mode: bool = True) -> Classifier:
        super().train(mode)
        for module in self.clip.modules():  # frozen batch norms keep their pretrained statistics
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and not any(
                p.requires_grad for p in module.parameters()
            ):
                module.eval()
        if not mode:
            self.refresh_text_features()
        return self

    @torch.no_grad()
    def refresh_text_features(self) -> None:
        """Recompute the cached text features of ``label_names`` from the current contexts."""
        self.text_features.copy_(self.prompt.encode(self.clip, self.label_names).to(self.text_features))

    # -- scoring ---------------------------------------------------------------------------------
    def text_features_for(self, names: list[str]) -> torch.Tensor:
        """Normalised (2, C, D) text features (negative, positive), with gradients to the contexts."""
        return self.prompt.encode(self.clip, list(names))

    def logits(self, images: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        """(B, 2, C) logits ``[l-, l+]`` aggregated over regions with weights from the positive scores."""
        regions = nn.functional.normalize(region_features(self.clip.visual, images), dim=-1)
        scores = self.logit_scale * torch.einsum("brd,kcd->bkcr", regions, text_features.to(regions.dtype))
        weights = scores[:, 1].softmax(dim=-1).unsqueeze(1)
        return self.aggregation_scale * (scores * weights).sum(dim=-1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C) probabilities for ``label_names`` from normalised images (B, 3, S, S)."""
        text = self.text_features if not self.training else self.text_features_for(self.label_names)
        return self.logits(images, text).softmax(dim=1)[:, 1]

    def score(self, images: torch.Tensor, label_names: list[str]) -> torch.Tensor:
        """(B, C) probabilities for any label names (open vocabulary)."""
        return self.logits(images, self.text_features_for(label_names)).softmax(dim=1)[:, 1]

    # -- preprocessing ---------------------------------------------------------------------------
    @property
    def image_size(self) -> int:
        return int(self.preprocess.get("image_size", self.clip.visual.image_size))

    def transform(self) -> Any:
        """torchvision eval transform: PIL image -> normalised tensor (3, S, S)."""
        return eval_transform(self.preprocess, self.image_size)

"""Role-specific output contracts, checked on the tiny demo models (one function per role)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailorgen.testing.checks import ConformanceError, expect

__all__ = ["ROLE_CHECKS", "CheckInputs"]


@dataclass
class CheckInputs:
    """What the output checks run on: the tiny models, a scratch folder and the data set split to load."""

    demo_models: dict[str, Path]
    work_dir: Path
    dataset_split: str = "test"
    label_names: list[str] = field(default_factory=list)

    def labels(self) -> list[str]:
        """``label_names``, or the tiny COCO label set's names."""
        if self.label_names:
            return list(self.label_names)
        data = json.loads((self.demo_models["coco"] / "labels.json").read_text())
        return [label["name"] for label in data["labels"]]

    def images(self, count: int) -> list[Any]:
        from PIL import Image

        files = sorted((self.demo_models["coco"] / "images").glob("*.png"))[:count]
        return [Image.open(path).convert("RGB") for path in files]


def _close(a: Any, b: Any, atol: float = 1e-4) -> bool:
    import torch

    return bool(torch.allclose(torch.as_tensor(a).float(), torch.as_tensor(b).float(), atol=atol, rtol=1e-4))


def check_prompt_writer(writer: Any, inputs: CheckInputs) -> None:
    """One list of non-empty strings per request, the same for the same request whatever its batch."""
    from tailorgen.prompting.request import PromptRequest

    names = inputs.labels()
    requests = [
        PromptRequest(set_id="a", labels=(names[-1], names[-2]), count=3, seed=11),
        PromptRequest(set_id="b", labels=(names[-3],), count=2, seed=12),
    ]
    out = writer.write(requests)
    expect(
        isinstance(out, list) and len(out) == len(requests),
        f"write() must return one list per request, got {out!r}",
    )
    for texts in out:
        expect(
            isinstance(texts, list) and texts,
            f"write() must return a non-empty list of texts per request: {texts!r}",
        )
        expect(
            all(isinstance(t, str) and t.strip() for t in texts),
            f"texts must be non-empty strings: {texts!r}",
        )
    expect(writer.write(requests) == out, "write() must be deterministic: same requests (seeds), same texts")
    expect(
        writer.write(requests[1:]) == out[1:], "a request's texts must not depend on the rest of its batch"
    )


def check_generator(generator: Any, inputs: CheckInputs) -> None:
    """One PIL image per (prompt, seed); the same seed gives the same image, another seed another one."""
    import numpy as np
    import torch
    from PIL import Image
    from tailorgen.registry.roles import DifferentiableGenerator

    prompts, seeds = ["a photo of a cat", "a photo of a dog"], [3, 4]
    images = generator.generate(prompts, seeds)
    expect(
        isinstance(images, list) and len(images) == 2,
        f"generate() must return one image per prompt, got {images!r}",
    )
    expect(all(isinstance(i, Image.Image) for i in images), "generate() must return PIL images")
    pixels = [np.asarray(i.convert("RGB"), dtype=np.int16) for i in images]
    alone = np.asarray(generator.generate(prompts[1:], seeds[1:])[0].convert("RGB"), dtype=np.int16)
    # batched and single runs may differ by float rounding, never by more than a few grey levels
    expect(alone.shape == pixels[1].shape, "an image's size must not depend on its batch")
    expect(np.abs(alone - pixels[1]).mean() < 2.0, "an image must depend only on its own prompt and seed")
    other = np.asarray(generator.generate(prompts[1:], [99])[0].convert("RGB"), dtype=np.int16)
    expect(np.abs(other - alone).mean() > 0.5, "another seed must give another image")
    if isinstance(generator, DifferentiableGenerator):
        encoder = generator.trainable_text_encoder()
        expect(
            isinstance(encoder, torch.nn.Module) and any(True for _ in encoder.parameters()),
            "trainable_text_encoder() must return the torch module fine-tuning trains",
        )


def check_discriminator(discriminator: Any, inputs: CheckInputs) -> None:
    """Finite (B, C) scores; a label's column does not depend on the other labels; tensors differentiable."""
    import torch
    from tailorgen.registry.roles import DifferentiableDiscriminator

    images, names = inputs.images(3), inputs.labels()[:4]
    scores = torch.as_tensor(discriminator.score(images, names))
    expect(
        tuple(scores.shape) == (3, 4),
        f"score() must return (images, labels) = (3, 4), got {tuple(scores.shape)}",
    )
    expect(scores.is_floating_point() and torch.isfinite(scores).all(), "score() must return finite floats")
    expect(_close(discriminator.score(images, names), scores), "score() must be deterministic")
    expect(
        _close(discriminator.score(images, names[2:]), scores[:, 2:]),
        "a label's score must not depend on the others",
    )
    if isinstance(discriminator, DifferentiableDiscriminator):
        pixels = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(0), requires_grad=True)
        logits = discriminator.score_tensors(pixels, names)
        expect(
            tuple(logits.shape) == (2, 4), f"score_tensors() must return (2, 4), got {tuple(logits.shape)}"
        )
        logits.sum().backward()
        expect(
            pixels.grad is not None and pixels.grad.abs().sum() > 0, "score_tensors() must be differentiable"
        )


def _rn_tower(inputs: CheckInputs) -> Any:
    import open_clip

    return open_clip.create_model(f"local-dir:{inputs.demo_models['clip-rn']}").visual.eval()


def check_fusion_head(head: Any, inputs: CheckInputs) -> None:
    """attach() keeps the pretrained names and outputs, and returns trainable parameters that matter."""
    import torch

    visual = _rn_tower(inputs)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    names, before = set(visual.state_dict()), visual(x).detach()
    params = head.attach(visual)
    expect(
        isinstance(params, list), f"attach() must return a list of parameters, got {type(params).__name__}"
    )
    expect(
        names <= set(visual.state_dict()),
        "attach() must keep the tower's parameter names (pretrained weights)",
    )
    expect(_close(visual(x), before, atol=1e-5), "the tower's output must be unchanged right after attach()")
    own = {id(p) for p in visual.parameters()}
    for p in params:
        expect(
            isinstance(p, torch.nn.Parameter) and p.requires_grad, "attach() must return trainable Parameters"
        )
        expect(id(p) in own, "returned parameters must belong to the tower (so they are saved with it)")
    if params:
        with torch.no_grad():
            for p in params:
                p.add_(0.5)
        expect(
            not _close(visual(x), before, atol=1e-5),
            "changing the returned parameters must change the output",
        )


def check_dataset(dataset: Any, inputs: CheckInputs) -> None:
    """(RGB PIL image, float multi-hot target) pairs plus ``.paths`` and ``.targets`` that agree."""
    import torch
    from PIL import Image

    names = inputs.labels()
    data = dataset.load(inputs.dataset_split, names)
    expect(len(data) > 0, f"load({inputs.dataset_split!r}) returned no images")
    expect(len(data.paths) == len(data), "`.paths` must list one path per item")
    expect(tuple(data.targets.shape) == (len(data), len(names)), f"`.targets` must be (N, {len(names)})")
    expect(bool(((data.targets == 0) | (data.targets == 1)).all()), "targets must be multi-hot (0/1)")
    image, target = data[0]
    expect(isinstance(image, Image.Image) and image.mode == "RGB", "items must be (RGB PIL image, target)")
    expect(isinstance(target, torch.Tensor) and target.is_floating_point(), "targets must be float tensors")
    expect(torch.equal(target, data.targets[0]), "item targets must equal the `.targets` rows")
    flipped = dataset.load(inputs.dataset_split, names[::-1])
    expect(
        torch.equal(flipped.targets, data.targets.flip(1)), "target columns must follow label_names' order"
    )
    _check_unknown_labels_rejected(dataset, inputs.dataset_split, names, data.targets)


def _check_unknown_labels_rejected(dataset: Any, split: str, names: list[str], targets: Any) -> None:
    """Data labelled with a name the caller did not ask for is a one-line TailorgenError (not dropped)."""
    from tailorgen.errors import TailorgenError

    present = names[int(targets.sum(0).argmax())]
    try:
        dataset.load(split, [n for n in names if n != present])
    except TailorgenError:
        return
    except Exception as exc:
        raise ConformanceError(
            f"labels in the data that are not in label_names must raise TailorgenError, got {exc!r}"
        ) from exc
    raise ConformanceError(f"load() without {present!r} must fail: the data has images labelled {present!r}")


def check_exporter(exporter: Any, inputs: CheckInputs) -> None:
    """export() writes a non-empty file under ``out_dir`` and returns its path."""
    from tailorgen.classifier import Classifier

    # logit scale 1: a random tiny CLIP at the paper's 20 saturates its scores, and exporters refuse
    # to validate saturated outputs (they would agree with a wrong export too)
    classifier = Classifier.build(
        f"local-dir:{inputs.demo_models['clip-rn']}", inputs.labels()[:3], n_ctx=4, logit_scale=1.0
    )
    out_dir = inputs.work_dir / "export"
    path = Path(exporter.export(classifier, out_dir))
    expect(
        path.is_file() and path.stat().st_size > 0,
        f"export() must write a file and return its path, got {path}",
    )
    expect(
        path.resolve().is_relative_to(out_dir.resolve()), f"export() wrote {path} outside out_dir {out_dir}"
    )


ROLE_CHECKS: dict[str, Callable[[Any, CheckInputs], None]] = {
    "prompt_writer": check_prompt_writer,
    "generator": check_generator,
    "discriminator": check_discriminator,
    "fusion_head": check_fusion_head,
    "dataset": check_dataset,
    "exporter": check_exporter,
}

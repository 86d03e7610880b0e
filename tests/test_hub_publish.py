"""Publish a run to the loopback Hub, load it back with from_pretrained, read its card, find it by label."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from hub_helpers import LABELS, SEEN, TOKEN, UNSEEN, USER, cli, make_run
from tailorgen.testing.hub_server import HubServer


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, demo_models: dict[str, Path]) -> Path:
    return make_run(tmp_path_factory.mktemp("run") / "run", demo_models["clip-rn"])


@pytest.fixture(scope="module")
def published(hub: HubServer, run_dir: Path) -> dict[str, Any]:
    from tailorgen.hub import publish

    with hub.client_env(token=TOKEN):
        return publish(
            run_dir,
            f"{USER}/tiny",
            dataset_repo_id=f"{USER}/tiny-data",
            text_encoder_repo_id=f"{USER}/tiny-te",
        )


def _images() -> torch.Tensor:
    return torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))


def _predict(model: Any) -> torch.Tensor:
    with torch.no_grad():
        return model(_images())


def test_publish_then_from_pretrained_gives_identical_predictions(
    hub: HubServer, run_dir: Path, published: dict[str, Any]
) -> None:
    from tailorgen.classifier import Classifier

    local = Classifier.from_pretrained(run_dir / "classifier")
    assert published["model"]["files"] == [
        "README.md",
        "config.json",
        "eval.json",
        "labels.json",
        "model.safetensors",
    ]
    with hub.client_env(token=None):  # anyone can download a public model
        remote = Classifier.from_pretrained(f"{USER}/tiny")
    assert remote.label_names == LABELS
    assert remote.seen == SEEN
    assert remote.unseen == UNSEEN
    assert torch.equal(_predict(remote), _predict(local))


def test_revision_pins_a_commit_and_stale_files_go(hub: HubServer, run_dir: Path, tmp_path: Path) -> None:
    from tailorgen.classifier import Classifier
    from tailorgen.errors import TailorgenError
    from tailorgen.hub import publish

    run = shutil.copytree(run_dir, tmp_path / "run")
    (run / "export").mkdir()
    (run / "export" / "model.onnx").write_bytes(b"an older export")
    with hub.client_env(token=TOKEN):
        first = publish(run, f"{USER}/pinned", include_onnx=True)["model"]["commit"]
        before = _predict(Classifier.from_pretrained(f"{USER}/pinned"))
        retrained = Classifier.from_pretrained(run / "classifier")  # retrain: other weights, same repo
        with torch.no_grad():
            retrained.prompt.ctx_pos.mul_(-1)
        retrained.save_pretrained(run / "classifier")
        second = publish(run, f"{USER}/pinned", commit_message="retrained")["model"]["commit"]
        assert second != first
        pinned = _predict(Classifier.from_pretrained(f"{USER}/pinned", revision=first))
        latest = _predict(Classifier.from_pretrained(f"{USER}/pinned"))
    with hub.client_env(token=None), pytest.raises(TailorgenError, match=r"revision '0{40}' not found"):
        Classifier.from_pretrained(f"{USER}/pinned", revision="0" * 40)
    assert torch.equal(pinned, before)
    assert not torch.allclose(latest, before)
    repo = hub.store.repos[("model", f"{USER}/pinned")]
    assert repo.resolve("main").summary == "retrained"
    assert "model.onnx" in repo.resolve(first).files
    assert "model.onnx" not in repo.resolve("main").files  # the old export would not match the new weights


def test_publish_to_a_branch(hub: HubServer, run_dir: Path) -> None:
    from tailorgen.classifier import Classifier
    from tailorgen.hub import publish

    with hub.client_env(token=TOKEN):
        main = publish(run_dir, f"{USER}/branched")["model"]["commit"]
        dev = publish(run_dir, f"{USER}/branched", revision="dev", commit_message="on dev")["model"]
        assert Classifier.from_pretrained(f"{USER}/branched", revision="dev").label_names == LABELS
    repo = hub.store.repos[("model", f"{USER}/branched")]
    assert repo.branches["main"] == main  # main untouched
    assert dev["revision"] == "dev"
    # the same run gives byte-identical files (card included): no new commit, dev stays at main's
    assert dev["commit"] == repo.branches["dev"] == main


def test_private_repo_needs_its_owners_token(hub: HubServer, run_dir: Path, tmp_path: Path) -> None:
    from tailorgen.classifier import Classifier
    from tailorgen.errors import TailorgenError
    from tailorgen.hub import publish

    with hub.client_env(token=TOKEN):
        publish(run_dir, f"{USER}/secret", private=True)
        assert Classifier.from_pretrained(f"{USER}/secret").label_names == LABELS
    assert hub.store.repos[("model", f"{USER}/secret")].private
    stranger = tmp_path / "stranger"  # another machine: the owner's download is not in its cache
    with (
        hub.client_env(token=None, home=stranger),
        pytest.raises(TailorgenError, match="no such Hub repo, or it is private"),
    ):
        Classifier.from_pretrained(f"{USER}/secret")


def test_model_card_carries_the_metadata(hub: HubServer, published: dict[str, Any]) -> None:
    from huggingface_hub import ModelCard

    with hub.client_env(token=None):
        card = ModelCard.load(f"{USER}/tiny")
    data = card.data
    assert data.library_name == "tailorgen"
    assert data.pipeline_tag == "image-classification"
    assert {"zero-shot", "multi-label", "synthetic-data", "tailorgen"} <= set(data.tags)
    assert data.datasets == [f"{USER}/tiny-data"]
    assert data.label_set == {"name": "pets-and-things", "seen": SEEN, "unseen": UNSEEN}
    results = {r.metric_name: r.metric_value for r in data.eval_results}
    assert results == {"zsl/mAP": 0.41, "zsl/F1@3": 0.37, "gzsl/mAP": 0.22}  # n_images is not a metric
    assert {r.dataset_split for r in data.eval_results} == {"test"}
    text = card.text
    assert "| zsl/mAP | 0.41 |" in text
    assert "**6 of 8** generated images (75.0%)" in text  # 2 of the 8 images were rejected
    assert "| bicycle | 4 | 5 | 80.0% |" in text
    assert '`diffusers` (model = "example-org/base-diffusion", steps = 4)' in text
    assert (
        "acceptance rule: strict: the top-|Y| labels by grouping-softmax v are exactly the targets, each v > 0.6"
        in text
    )
    assert f"tailorgen predict {USER}/tiny" in text
    assert "onnxruntime" not in text  # no ONNX file was published
    assert f"[{USER}/tiny-te](https://huggingface.co/{USER}/tiny-te)" in text
    assert "## Limitations" in text


def test_text_encoder_repo_is_in_diffusers_layout(
    hub: HubServer, run_dir: Path, published: dict[str, Any]
) -> None:
    from huggingface_hub import ModelCard
    from transformers import CLIPTextModel

    with hub.client_env(token=None):
        encoder = CLIPTextModel.from_pretrained(f"{USER}/tiny-te", subfolder="text_encoder")
        card = ModelCard.load(f"{USER}/tiny-te")
    local = CLIPTextModel.from_pretrained(run_dir / "finetune" / "text_encoder")
    for (name, a), (_, b) in zip(encoder.state_dict().items(), local.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert card.data.base_model == "example-org/base-diffusion"
    assert card.data.library_name == "diffusers"
    assert 'StableDiffusionPipeline.from_pretrained("example-org/base-diffusion", text_encoder=' in card.text


def test_hub_list_finds_models_by_label(hub: HubServer, published: dict[str, Any]) -> None:
    found = cli(hub, "hub", "list", "--json", token=None)
    assert found.returncode == 0, found.stderr
    models = {m["repo_id"]: m for m in json.loads(found.stdout)}
    assert f"{USER}/tiny-te" not in models  # tagged tailorgen, but not a classifier
    assert models[f"{USER}/tiny"]["unseen"] == UNSEEN
    text = cli(hub, "hub", "list", "--search", "tiny", "--label", "Umbrella", token=None)
    assert text.returncode == 0, text.stderr
    assert f"{USER}/tiny  4 labels (2 seen, 2 unseen)" in text.stdout
    assert "unseen: bicycle, umbrella" in text.stdout
    none = cli(hub, "hub", "list", "--label", "giraffe", "--json", token=None)
    assert json.loads(none.stdout) == []

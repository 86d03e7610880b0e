"""Cards from save_pretrained/push_to_hub equal publish's; data set cards state a license; no card links
to a file or repo that does not exist (checked on the loopback Hub)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hub_helpers import LABELS, SEEN, TOKEN, UNSEEN, USER, build_classifier, make_run
from tailorgen.hub.licenses import data_license, generator_model
from tailorgen.testing.hub_server import HubServer

_LINK = re.compile(r"\]\(([^)\s]+)\)")
#: the project's own pages, the only links that are neither repo files nor Hub repos
_PROJECT_PAGES = {"https://github.com/tailorgen/tailorgen", "https://arxiv.org/abs/2404.03144"}


def _check_links(folder: Path) -> list[str]:
    """Every link in ``folder/README.md`` resolves: a relative one to a file of the folder, a Hub one
    to a repo on the (loopback) Hub; returns the links."""
    from huggingface_hub import HfApi

    links = _LINK.findall((folder / "README.md").read_text())
    api = HfApi()
    for link in links:
        if link.startswith("https://huggingface.co/"):
            path = link.removeprefix("https://huggingface.co/")
            kind = "dataset" if path.startswith("datasets/") else "model"
            assert api.repo_exists(path.removeprefix("datasets/"), repo_type=kind), link
        elif "://" in link:
            assert link in _PROJECT_PAGES, link
        else:
            assert (folder / link).is_file(), f"{folder.name}/README.md links {link}, which is not there"
    return links


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, demo_models: dict[str, Path]) -> Path:
    return make_run(tmp_path_factory.mktemp("run") / "run", demo_models["clip-rn"], n_images=4)


def test_every_card_link_resolves_on_the_hub(hub: HubServer, run_dir: Path, tmp_path: Path) -> None:
    from huggingface_hub import snapshot_download
    from tailorgen.classifier import Classifier
    from tailorgen.hub import publish

    with hub.client_env(token=TOKEN):
        publish(
            run_dir,
            f"{USER}/linked",
            dataset_repo_id=f"{USER}/linked-data",
            text_encoder_repo_id=f"{USER}/linked-te",
        )
        Classifier.from_pretrained(run_dir / "classifier").push_to_hub(f"{USER}/pushed")
        folders = {
            "model": Path(snapshot_download(f"{USER}/linked")),
            "dataset": Path(snapshot_download(f"{USER}/linked-data", repo_type="dataset")),
            "text encoder": Path(snapshot_download(f"{USER}/linked-te")),
            "pushed": Path(snapshot_download(f"{USER}/pushed")),
        }
        links = {name: _check_links(folder) for name, folder in folders.items()}
    # the checks above ran on real links: files and the repos the publish created
    assert {"labels.json", "config.json", "eval.json", "model.safetensors"} <= set(links["model"])
    assert f"https://huggingface.co/datasets/{USER}/linked-data" in links["model"]
    assert f"https://huggingface.co/{USER}/linked-te" in links["model"]
    assert f"https://huggingface.co/{USER}/linked" in links["dataset"]
    assert {"labels.json", "config.json", "model.safetensors"} <= set(links["pushed"])


def test_push_to_hub_uploads_the_publish_card_and_labels(
    hub: HubServer, demo_models: dict[str, Path], tmp_path: Path
) -> None:
    from huggingface_hub import ModelCard, snapshot_download

    model = build_classifier(demo_models["clip-rn"], tmp_path / "saved")
    with hub.client_env(token=TOKEN):
        model.push_to_hub(f"{USER}/standalone")
        folder = Path(snapshot_download(f"{USER}/standalone"))
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "README.md",
        "config.json",
        "labels.json",
        "model.safetensors",
    ]
    card = ModelCard.load(folder / "README.md")
    assert card.data.library_name == "tailorgen"
    assert card.data.label_set == {"name": "labels", "seen": SEEN, "unseen": UNSEEN}
    assert f'Classifier.from_pretrained("{USER}/standalone")' in card.text  # the repo, not a temp folder
    assert "saved outside a tailorgen run" in card.text
    assert "huggingface.co/datasets" not in card.text  # no data set exists to link
    labels = json.loads((folder / "labels.json").read_text())
    assert [(x["name"], x["split"]) for x in labels["labels"]] == [
        (n, "seen" if n in SEEN else "unseen") for n in LABELS
    ]
    local = tmp_path / "saved"  # the same card locally, naming the folder instead of a repo
    assert (local / "labels.json").read_text() == (folder / "labels.json").read_text()
    assert "saved outside a tailorgen run" in (local / "README.md").read_text()
    assert set(_LINK.findall((local / "README.md").read_text())) - _PROJECT_PAGES == {
        "config.json",
        "labels.json",
        "model.safetensors",
    }


def test_a_run_classifier_gets_the_run_card(run_dir: Path) -> None:
    text = (run_dir / "classifier" / "README.md").read_text()
    assert "saved outside" not in text
    assert "`diffusers`" in text  # the run's generator, from its config.toml
    labels = json.loads((run_dir / "classifier" / "labels.json").read_text())
    assert labels["name"] == "pets-and-things"  # the run's label set, not one rebuilt from names


def test_the_train_stage_names_its_run(run_dir: Path, tmp_path: Path) -> None:
    """The train stage saves into a staging folder before classifier/ exists: it names the run."""
    from tailorgen.classifier import Classifier

    model = Classifier.from_pretrained(run_dir / "classifier")
    staging = tmp_path / ".classifier.partial"
    model.save_pretrained(staging, model_card_kwargs={"run_dir": run_dir})
    assert "`diffusers`" in (staging / "README.md").read_text()
    assert json.loads((staging / "labels.json").read_text())["name"] == "pets-and-things"
    model.save_pretrained(tmp_path / "elsewhere")  # the same model without its run: fewer facts
    assert "saved outside a tailorgen run" in (tmp_path / "elsewhere" / "README.md").read_text()
    assert json.loads((tmp_path / "elsewhere" / "labels.json").read_text())["name"] == "labels"


def test_a_resave_replaces_the_card(demo_models: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "README.md").write_text("stale card\n")
    build_classifier(demo_models["clip-rn"], tmp_path / "m")
    assert "stale card" not in (tmp_path / "m" / "README.md").read_text()


@pytest.mark.parametrize(
    ("plugin", "options", "license_id", "words"),
    [
        (
            "diffusers",
            {"model": "runwayml/stable-diffusion-v1-5"},
            "creativeml-openrail-m",
            "`creativeml-openrail-m`",
        ),
        ("diffusers", {}, "openrail++", "stabilityai/stable-diffusion-2"),  # the plugin's default model
        ("diffusers", {"model": "example-org/base-diffusion"}, "other", "License: unknown"),
        ("diffusers", {"model": "/home/me/sd"}, "other", "`<local>/sd`"),  # no local path on a card
        (None, {}, "other", "was not recorded"),
    ],
)
def test_data_license(plugin: str | None, options: dict[str, Any], license_id: str, words: str) -> None:
    found = data_license(generator_model(plugin, options))
    assert found.license == license_id
    assert words in found.statement


def test_dataset_cards_state_the_license(run_dir: Path, hub: HubServer) -> None:
    from huggingface_hub import DatasetCard
    from tailorgen.synthetic.card import CardFacts, render_card

    facts = CardFacts(
        label_set="x",
        labels=["a"],
        generator={"plugin": "diffusers", "model": "stabilityai/stable-diffusion-xl-base-1.0"},
        discriminator={},
        rule="strict",
        text_encoder="stock",
        seed=0,
        report=[],
        images=1,
        accepted=1,
        surplus=0,
        attempts=1,
        rounds=1,
        tailorgen_version="0",
    )
    local = render_card(facts)
    assert "\nlicense: openrail++\n" in local
    assert "the generator model `stabilityai/stable-diffusion-xl-base-1.0`" in local
    from huggingface_hub import snapshot_download
    from tailorgen.hub import publish

    with hub.client_env(token=TOKEN):
        publish(run_dir, f"{USER}/licensed", dataset_repo_id=f"{USER}/licensed-data")
        folder = Path(snapshot_download(f"{USER}/licensed-data", repo_type="dataset"))
    card = DatasetCard.load(folder / "README.md")
    assert card.data.license == "other"  # make_run's generator model is not a known one
    assert "License: unknown" in card.text

"""A published model runs from the Hub: ``tailorgen predict USER/NAME`` and the card's onnxruntime snippet."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hub_helpers import TOKEN, USER, make_run
from tailorgen.testing.hub_server import HubServer


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, demo_models: dict[str, Path]) -> Path:
    from tailorgen.classifier import Classifier
    from tailorgen.exporters.onnx import OnnxExporter

    run = make_run(
        tmp_path_factory.mktemp("run") / "run", demo_models["clip-rn"], n_images=2, text_encoder=False
    )
    (run / "export").mkdir()
    OnnxExporter().export(Classifier.from_pretrained(run / "classifier"), run / "export")
    return run


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two non-square pictures (the resize + centre crop matters)."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for i, size in enumerate([(100, 75), (48, 90)]):
        pixels = np.random.default_rng(i).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        paths.append(folder / f"photo{i}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


@pytest.fixture(scope="module")
def published(hub: HubServer, run_dir: Path) -> dict[str, object]:
    from tailorgen.hub import publish

    with hub.client_env(token=TOKEN):
        return publish(run_dir, f"{USER}/onnx", include_onnx=True)


def _tailorgen(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI in this process (imports are already paid for); (exit code, stdout, stderr)."""
    from tailorgen.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _scores(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict[str, float]]:
    code, out, err = _tailorgen(capsys, "predict", "--json", "--top-k", "0", "--device", "cpu", *args)
    assert code == 0, err
    return {
        Path(r["image"]).name: {x["label"]: x["score"] for x in r["labels"]}
        for r in json.loads(out)["results"]
    }


def test_predict_from_the_hub_matches_the_local_run(
    hub: HubServer,
    run_dir: Path,
    photos: list[Path],
    published: dict[str, object],
    capsys: pytest.CaptureFixture[str],
) -> None:
    local = _scores(capsys, str(run_dir / "classifier"), *map(str, photos))
    with hub.client_env(token=None):  # a fresh user: nothing cached, no token
        remote = _scores(capsys, f"{USER}/onnx", *map(str, photos))
    assert remote == local
    assert len(remote["photo0.png"]) == 4
    assert ("GET", f"/{USER}/onnx/resolve/main/model.safetensors") in hub.requests


def test_predict_refuses_an_invalid_repo(
    hub: HubServer, photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from huggingface_hub import HfApi

    with hub.client_env(token=TOKEN):
        HfApi().create_repo(f"{USER}/not-a-model")
        code, _, err = _tailorgen(capsys, "predict", f"{USER}/not-a-model", str(photos[0]))
    assert code == 1
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "config.json" in err


def test_card_onnxruntime_snippet_runs_as_pasted(
    hub: HubServer, run_dir: Path, photos: list[Path], published: dict[str, object]
) -> None:
    import torch
    from huggingface_hub import ModelCard
    from PIL import Image
    from tailorgen.classifier import Classifier

    assert "model.onnx" in published["model"]["files"]  # type: ignore[index]
    with hub.client_env(token=None):
        text = ModelCard.load(f"{USER}/onnx").text
    snippet = re.search(r"```python\n(import json\n.*?)```", text, re.DOTALL)
    assert snippet is not None
    code = snippet.group(1).replace('"photo.jpg"', repr(str(photos[0])))
    ran = subprocess.run(
        [sys.executable, "-c", code],
        env=hub.env(None),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    printed = dict(line.split(": ") for line in ran.stdout.strip().splitlines())

    model = Classifier.from_pretrained(run_dir / "classifier")
    with torch.no_grad():
        probabilities = model(model.transform()(Image.open(photos[0]))[None])[0]
    expected = dict(zip(model.label_names, probabilities.tolist(), strict=True))
    assert list(printed) == sorted(expected, key=lambda n: -expected[n])  # same ranking, all 4 labels
    for name, value in printed.items():
        assert float(value) == pytest.approx(expected[name], abs=2e-3)

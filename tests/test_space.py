"""``tailorgen space``: the Space folder, the app driven in a real headless Chromium, and publishing it."""

from __future__ import annotations

import ast
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from export_helpers import tiny_classifier, write_images
from hub_helpers import TOKEN, USER
from serve_helpers import free_port, onnx_run, predict_json, wait_until_healthy
from tailorgen.cli import main

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def run_dir(demo_models, tmp_path_factory):
    run = onnx_run(demo_models, tmp_path_factory.mktemp("run"))
    write_images(run / "synthetic" / "images", count=5, seed=3)  # where the examples come from
    return run


@pytest.fixture(scope="module")
def space(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("spaces") / "space"
    assert main(["space", str(run_dir), "--out", str(out), "--title", "Tiny: tagger", "--top-k", "4"]) is None
    return out


def _predict_json(run_dir: Path, image: Path, *args: str) -> list[dict]:
    return predict_json(run_dir, [image], *args)[image.name]


def test_the_space_folder(space, run_dir):
    from huggingface_hub import RepoCard

    files = sorted(p.relative_to(space).as_posix() for p in space.rglob("*") if p.is_file())
    assert files == [
        "README.md", "app.py", "examples/example0.png", "examples/example1.png", "examples/example2.png",
        "examples/example3.png", "labels.txt", "model.onnx", "preprocess.py", "requirements.txt",
    ]  # fmt: skip
    card = RepoCard.load(space / "README.md", repo_type="space")
    assert card.data.sdk == "gradio"
    assert card.data.app_file == "app.py"
    assert card.data.title == "Tiny: tagger"  # a colon in the title stays valid YAML
    assert card.data.sdk_version
    labels = (space / "labels.txt").read_text().splitlines()
    assert labels == ["cat", "dog", "car", "tree", "sky", "boat", "traffic light"]
    assert all(f"- {label}" in card.text for label in labels)
    assert (space / "model.onnx").read_bytes() == (run_dir / "export" / "model.onnx").read_bytes()
    requirements = (space / "requirements.txt").read_text()
    assert "onnxruntime" in requirements
    assert "torch" not in requirements
    assert "tailorgen" not in requirements  # the Space installs without tailorgen
    for source in ("app.py", "preprocess.py"):
        tree = ast.parse((space / source).read_text())
        imported = {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {name.split(".")[0] for name in imported} & {"tailorgen", "torch", "torchvision"}


@pytest.mark.parametrize("resize", ["whole", "crop"])
def test_the_spaces_preprocessing_is_the_classifiers_eval_transform(resize):
    import numpy as np
    from PIL import Image
    from tailorgen.classifier.transforms import eval_transform
    from tailorgen.space.preprocess import preprocess

    settings = {"image_size": 32, "interpolation": "bicubic", "resize": resize}
    settings |= {"mean": [0.5, 0.45, 0.4], "std": [0.25, 0.26, 0.27]}
    rng = np.random.default_rng(0)
    pictures = [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for h, w in [(48, 80), (91, 61), (33, 33)]
    ]
    expected = np.stack([eval_transform(settings, 32)(picture).numpy() for picture in pictures])
    np.testing.assert_array_equal(preprocess(pictures, settings), expected)


def test_a_run_without_an_onnx_export_gets_a_clear_error(demo_models, tmp_path):
    from tailorgen.errors import TailorgenError
    from tailorgen.space import write_space

    tiny_classifier(demo_models).save_pretrained(tmp_path / "run" / "classifier")
    with pytest.raises(TailorgenError, match="nothing the onnx backend can load"):
        write_space(tmp_path / "run", tmp_path / "space")
    assert not (tmp_path / "space").exists()


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}", "--window-size=1280,800",
    ):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _shown_labels(driver) -> list[tuple[str, float]]:
    """(label, probability) of every bar of the Labels box, top to bottom (read in one go: the
    page re-renders the box while it updates)."""
    bars = driver.execute_script(
        "return [...document.querySelectorAll('#labels meter')]"
        ".map(bar => [bar.getAttribute('aria-label'), bar.getAttribute('value')])"
    )
    return [(label, float(value)) for label, value in bars]


@pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Chromium and chromedriver (apt-get install chromium chromium-driver)",
)
def test_the_app_in_headless_chromium_shows_the_labels_of_tailorgen_predict(space, run_dir):
    import subprocess
    import sys

    pytest.importorskip("gradio", reason="needs gradio (pip install 'tailorgen[space]')")
    pytest.importorskip("selenium", reason="needs selenium (in the dev extra)")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    env = {
        **__import__("os").environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "OMP_NUM_THREADS": "1",
    }
    app = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=space,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    driver = None
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/", app)
        driver = _browser()
        driver.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(driver, 120).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#image input[type=file]")
        )
        image = space / "examples" / "example1.png"
        driver.find_element(By.CSS_SELECTOR, "#image input[type=file]").send_keys(str(image))
        WebDriverWait(driver, 120).until(lambda d: len(_shown_labels(d)) == 4)
        shown = _shown_labels(driver)
        expected = _predict_json(run_dir, image, "--top-k", "4")
        assert [label for label, _ in shown] == [item["label"] for item in expected]
        assert [score for _, score in shown] == pytest.approx([item["score"] for item in expected], abs=1e-6)

        # the threshold slider: only labels at or above it stay
        threshold = round((shown[1][1] + shown[2][1]) / 2, 2)
        assert shown[2][1] < threshold <= shown[1][1]  # the tiny model's scores are 0.01 apart or more
        box = driver.find_element(By.CSS_SELECTOR, "#threshold input[type=number]")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(str(threshold), Keys.ENTER)
        WebDriverWait(driver, 120).until(lambda d: len(_shown_labels(d)) == 2)
        assert [label for label, _ in _shown_labels(driver)] == [
            item["label"]
            for item in _predict_json(run_dir, image, "--top-k", "4", "--threshold", str(threshold))
        ]
    finally:
        if driver is not None:
            driver.quit()
        app.terminate()
        app.wait(timeout=30)


def test_publish_space_to_the_loopback_hub(hub, run_dir):
    from hub_helpers import cli

    result = cli(hub, "publish", str(run_dir), "--repo-id", f"{USER}/tagger", "--include-onnx", "--space")
    assert result.returncode == 0, result.stderr
    published = json.loads(result.stdout)
    assert published["space"]["repo_type"] == "space"
    repo = hub.store.repos[("space", f"{USER}/tagger")]
    files = repo.resolve("main").files
    assert {"app.py", "requirements.txt", "README.md", "labels.txt", "model.onnx"} <= set(files)
    assert set(published["space"]["files"]) == set(files) - {".gitattributes"}
    assert ("model", f"{USER}/tagger") in hub.store.repos  # the model went too, to its own repo


def test_publish_space_needs_the_onnx_export_before_uploading_anything(hub, demo_models, tmp_path):
    from hub_helpers import cli

    tiny_classifier(demo_models).save_pretrained(tmp_path / "run" / "classifier")
    result = cli(hub, "publish", str(tmp_path / "run"), "--repo-id", f"{USER}/early", "--space")
    assert result.returncode == 1
    assert "onnx" in result.stderr
    assert ("model", f"{USER}/early") not in hub.store.repos
    assert TOKEN not in result.stderr

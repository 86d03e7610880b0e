"""The wheel maps the repository folders into one `tailorgen` package and ships its data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contents_and_import(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("tailorgen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "tailorgen/__init__.py",
        "tailorgen/registry/hookspecs.py",
        "tailorgen/data/presets/coco-48-17.json",
        "tailorgen/data/presets/nus-wide-925-81.json",
        "tailorgen/examples/tiny.toml",
        "tailorgen/plugins/template_vocab.toml",
    ):
        assert required in names
    # never a generic top-level module
    assert {n.split("/")[0] for n in names} <= {
        "tailorgen",
        *(n.split("/")[0] for n in names if ".dist-info" in n),
    }
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "[tailorgen]" in zipfile.ZipFile(wheel).read(entry_points).decode()
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import tailorgen.data.labels as l, tailorgen.plugins.template_vocab as v; "
            "print(l.__file__, len(l.load_label_set('coco-48-17').unseen) + 0 * len(v.ADJECTIVES))",
        ],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    path, unseen = out.stdout.split()
    assert path.startswith(str(target))
    assert unseen == "17"

"""``tailorgen score-metrics``: file formats, the protocol option, and clear errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tailorgen.cli import main
from tailorgen.data.labels import load_label_set
from tailorgen.evaluation.metrics import ranking_metrics
from tailorgen.evaluation.protocol import evaluate_settings


@pytest.fixture
def matrices(tmp_path: Path) -> tuple[np.ndarray, np.ndarray, Path]:
    rng = np.random.default_rng(0)
    scores, labels = rng.random((40, 80)).astype(np.float32), rng.random((40, 80)) < 0.1
    np.save(tmp_path / "scores.npy", scores)
    np.save(tmp_path / "labels.npy", labels)
    return scores, labels, tmp_path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["score-metrics", *map(str, args)])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_matches_the_metrics_module(matrices, capsys) -> None:
    scores, labels, d = matrices
    code, out, _ = _run(capsys, d / "scores.npy", d / "labels.npy", "--json", "--k", "1,3")
    assert code == 0
    assert json.loads(out) == {"all": ranking_metrics(scores, labels, (1, 3))}


def test_npz_and_csv_inputs_give_the_same_numbers(matrices, capsys) -> None:
    scores, labels, d = matrices
    np.savez(d / "both.npz", scores=scores, labels=labels)
    header = ",".join(f"label{i}" for i in range(scores.shape[1]))
    np.savetxt(d / "scores.csv", scores, delimiter=",", header=header, comments="", fmt="%.9g")
    np.savetxt(d / "labels.csv", labels.astype(int), delimiter=",", fmt="%d")
    expected = {"all": ranking_metrics(scores, labels)}
    assert json.loads(_run(capsys, d / "both.npz", d / "both.npz", "--json")[1]) == expected
    assert json.loads(_run(capsys, d / "scores.csv", d / "labels.csv", "--json")[1]) == expected


def test_label_set_protocol_and_table(matrices, capsys) -> None:
    scores, labels, d = matrices
    code, out, _ = _run(capsys, d / "scores.npy", d / "labels.npy", "--label-set", "coco-48-17", "--json")
    assert code == 0
    coco = load_label_set("coco-48-17")
    assert json.loads(out) == evaluate_settings(scores, labels, coco)
    used = scores[:, coco.indices(coco.used)], labels[:, coco.indices(coco.used)]
    np.save(d / "used.npy", used[0])
    np.save(d / "used_labels.npy", used[1])
    code, out, _ = _run(
        capsys, d / "used.npy", d / "used_labels.npy", "--label-set", "coco-48-17", "--setting", "zsl"
    )
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["model", "setting", "mAP"]
    assert lines[2].split()[:2] == ["used", "ZSL"]
    zsl = evaluate_settings(*used, coco, label_names=coco.used, settings=("zsl",))["zsl"]
    assert float(lines[2].split()[2]) == pytest.approx(zsl["mAP"], abs=0.005)
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (
            lambda d: np.save(d / "x.npy", np.zeros((40, 5))),
            ["scores.npy", "x.npy"],
            r"are \(40, 80\) but labels",
        ),
        (lambda d: None, ["scores.npy", "missing.npy"], r"missing\.npy not found"),
        (lambda d: (d / "x.txt").write_text("1"), ["scores.npy", "x.txt"], r"unknown format '\.txt'"),
        (lambda d: (d / "x.npy").write_bytes(b"garbage"), ["x.npy", "labels.npy"], "not a readable matrix"),
        (
            lambda d: np.save(d / "x.npy", np.zeros(4)),
            ["x.npy", "labels.npy"],
            "expected a numeric images x labels",
        ),
        (
            lambda d: np.savez(d / "x.npz", a=np.zeros((40, 80)), b=np.zeros((40, 80))),
            ["x.npz", "labels.npy"],
            "which are the scores",
        ),
        (lambda d: None, ["scores.npy", "labels.npy", "--label-set", "nus-wide-925-81"], "has 1006 labels"),
    ],
)
def test_bad_inputs_are_one_line_errors(matrices, capsys, make, args, message) -> None:
    d = matrices[2]
    make(d)
    code, _, err = _run(capsys, *[d / a if a.endswith(("npy", "npz", "txt")) else a for a in args])
    assert code == 1
    assert err.startswith("error: ")
    assert re.search(message, err)
    assert "Traceback" not in err


def test_usage_errors(matrices, capsys) -> None:
    d = matrices[2]
    assert _run(capsys, d / "scores.npy", d / "labels.npy", "--setting", "zsl")[0] == 2
    assert _run(capsys, d / "scores.npy", d / "labels.npy", "--k", "3,x")[0] == 2


def test_command_is_registered(matrices) -> None:
    d = matrices[2]
    out = subprocess.run(
        [sys.executable, "-m", "tailorgen", "score-metrics", str(d / "scores.npy"), str(d / "labels.npy")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[2].split()[:2] == ["scores", "ALL"]

"""``tailorgen serve``: batched answers equal ``tailorgen predict``'s, bad input gets a 4xx, SIGTERM drains.

Everything runs on 127.0.0.1 with bounded request loops; the server is a real process.
"""

from __future__ import annotations

import base64
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip(
    "litserve", reason="tailorgen serve needs the serve extra (pip install 'tailorgen[serve]')"
)

import httpx
from export_helpers import write_images
from serve_helpers import ServerProcess, onnx_run, predict_json

CLIENTS = 6
ROUNDS = 3


@pytest.fixture(scope="module")
def run_dir(demo_models, tmp_path_factory):
    return onnx_run(demo_models, tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return write_images(tmp_path_factory.mktemp("images"), count=4)


@pytest.fixture(scope="module")
def expected(run_dir, images):
    """image file name -> labels, as ``tailorgen predict --json`` prints them."""
    return predict_json(run_dir, images)


@pytest.fixture(scope="module")
def server(run_dir):
    args = ["serve", str(run_dir), "--backend", "onnx", "--max-batch-size", "8", "--batch-wait-ms", "20"]
    with ServerProcess([*args, "--max-request-mb", "0.05"]) as running:
        yield running


def _multipart(paths):
    return [("files", (Path(p).name, Path(p).read_bytes(), "image/png")) for p in paths]


def test_concurrent_clients_get_the_answers_of_tailorgen_predict(server, images, expected):
    def ask(client_index: int) -> list[dict]:
        answers = []
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for round_index in range(ROUNDS):
                picked = [
                    images[(client_index + round_index + k) % len(images)]
                    for k in range(1 + client_index % 2)
                ]
                if (client_index + round_index) % 2:
                    reply = client.post("/predict", files=_multipart(picked))
                else:
                    body = [
                        {"name": Path(p).name, "data": base64.b64encode(Path(p).read_bytes()).decode()}
                        for p in picked
                    ]
                    reply = client.post("/predict", json={"images": body})
                assert reply.status_code == 200, reply.text
                answers.append(([Path(p).name for p in picked], reply.json()))
        return answers

    with ThreadPoolExecutor(CLIENTS) as pool:
        replies = [answer for answers in pool.map(ask, range(CLIENTS)) for answer in answers]
    assert len(replies) == CLIENTS * ROUNDS
    for names, reply in replies:
        assert reply["backend"] == "onnx"
        assert [r["image"] for r in reply["results"]] == names
        for result in reply["results"]:
            got = {item["label"]: item["score"] for item in result["labels"]}
            want = {item["label"]: item["score"] for item in expected[result["image"]]}
            assert list(got) == list(want)
            assert got == pytest.approx(want, abs=2e-6)


def test_labels_health_and_openapi(server):
    assert httpx.get(server.url + "/labels").json()["labels"] == [
        "cat", "dog", "car", "tree", "sky", "boat", "traffic light"
    ]  # fmt: skip
    assert httpx.get(server.url + "/health").status_code == 200
    schema = httpx.get(server.url + "/openapi.json").json()
    assert {"/predict", "/labels", "/health"} <= set(schema["paths"])


#: case -> (status, words of the reason)
BAD_INPUTS = {
    "not an image": (415, "not an image"),
    "truncated": (400, "truncated"),
    "empty body": (400, "empty request body"),
    "over the size limit": (413, "limit"),
    "bad base64": (422, "base64"),
    "no images": (422, "images"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_a_4xx_with_its_reason_and_the_server_keeps_serving(server, images, expected, case):
    status, reason = BAD_INPUTS[case]
    png = Path(images[0]).read_bytes()
    send = {
        "not an image": {"files": [("f", ("notes.txt", b"hello, not a picture", "text/plain"))]},
        "truncated": {"files": [("f", ("cut.png", png[: len(png) // 2], "image/png"))]},
        "empty body": {"content": b""},
        "over the size limit": {"files": [("f", ("big.png", png + b"\0" * 60_000, "image/png"))]},
        "bad base64": {"json": {"images": ["not base64!"]}},
        "no images": {"json": {"pictures": []}},
    }[case]
    reply = httpx.post(server.url + "/predict", timeout=60, **send)
    assert reply.status_code == status, reply.text
    assert reason in reply.json()["detail"]
    # and the next good request is answered as before
    good = httpx.post(server.url + "/predict", files=_multipart(images[:1]), timeout=60)
    assert good.status_code == 200
    assert good.json()["results"][0]["labels"] == expected[Path(images[0]).name]


def test_a_bad_image_does_not_fail_the_requests_batched_with_it(server, images):
    png = Path(images[0]).read_bytes()

    def post(files):
        return httpx.post(server.url + "/predict", files=files, timeout=60).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(post, [_multipart(images[:2]), [("f", ("x.png", png[:100], "image/png"))]] * 3))
    assert codes == [200, 400] * 3


@pytest.mark.parametrize(
    ("sig", "group"), [(signal.SIGTERM, False), (signal.SIGINT, True)], ids=["SIGTERM", "Ctrl-C"]
)
def test_a_stop_signal_drains_requests_in_flight_then_exits_0(run_dir, images, sig, group):
    args = ["serve", str(run_dir), "--backend", "onnx", "--max-batch-size", "8", "--batch-wait-ms", "2500"]
    with ServerProcess(args) as server:
        replies: list[int] = []
        started = threading.Barrier(5)

        def post() -> None:
            started.wait()
            reply = httpx.post(server.url + "/predict", files=_multipart(images[:1]), timeout=60)
            replies.append(reply.status_code)

        threads = [threading.Thread(target=post) for _ in range(4)]
        for thread in threads:
            thread.start()
        started.wait()
        # 4 requests, batches of 8: the server holds them for 2.5 s waiting for more; signal meanwhile
        threading.Event().wait(1.0)
        code = server.stop(sig, group=group)
        for thread in threads:
            thread.join(timeout=60)
        output = server.process.stdout.read()
    assert code == 0, output
    assert replies == [200] * 4, output


def test_a_port_in_use_or_a_missing_model_is_a_one_line_error_before_anything_starts(
    run_dir, tmp_path, capsys
):
    import socket

    from tailorgen.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", str(run_dir), "--port", port])
    assert exit_info.value.code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", str(tmp_path / "nothing"), "--port", port])
    assert "is neither a local folder nor a Hub repo id" in capsys.readouterr().err


def test_without_the_serve_extra_the_error_says_how_to_install_it(run_dir, monkeypatch, capsys):
    import sys

    from tailorgen.cli import main

    for name in [m for m in sys.modules if m == "tailorgen.serve" or m.startswith("tailorgen.serve.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "litserve", None)  # import litserve now raises ImportError
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", str(run_dir)])
    assert exit_info.value.code == 1
    assert "pip install 'tailorgen[serve]'" in capsys.readouterr().err


def test_threshold_calibrated_is_resolved_before_anything_starts(run_dir, capsys):
    """``--threshold calibrated`` is taken as ``predict`` takes it; a model without saved thresholds
    is a one-line error before any server process starts (this tiny run has none)."""
    from tailorgen.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", str(run_dir), "--backend", "onnx", "--threshold", "calibrated"])
    assert exit_info.value.code == 1
    assert "has no calibrated thresholds" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", str(run_dir), "--threshold", "1.5"])
    assert exit_info.value.code == 2
    assert "neither a probability in [0, 1] nor 'calibrated'" in capsys.readouterr().err

"""scripts/dapr-run as a Dapr user types `dapr run`: the original demo's own commands (its
app ids, ports and method), its clients' requests (curl through daprd's HTTP API, the
Python SDK as the original Go client, the web page's `api: go` header), and a Multi-App
Run file (the repository's dapr.yaml) starting the whole demo; stopping leaves no process
behind. Real daprd, real Redis (for dapr.yaml, as it says)."""

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import BIN, ROOT, port_free  # noqa: E402
from shared_data import DATA, require  # noqa: E402
from test_dapr import http_request, wait_for  # noqa: E402

LAUNCHER = os.path.join(ROOT, "scripts", "dapr-run")
COMPONENTS = [
    "--resources-path",
    "deploy/components/sqlite",
    "--resources-path",
    "deploy/components/common",
]


def launch(args, log):
    return subprocess.Popen(
        [LAUNCHER, *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def leftovers(marker):
    """Processes whose command line holds marker (daprd and edgecar started for a test)."""
    r = subprocess.run(["pgrep", "-f", "--", marker], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split() if int(p) != os.getpid()]


def stop(launchers, ports, markers):
    for p in launchers:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in launchers:
        p.wait(30)
    wait_for(lambda: all(port_free(p) for p in ports), timeout=15, what="ports released")
    for m in markers:
        assert leftovers(m) == [], f"processes left behind: {m}"


def grey_png(body):
    img = Image.open(io.BytesIO(body))
    assert img.format == "PNG"
    return all(p[0] == p[1] == p[2] for p in img.convert("RGB").getdata())


def test_the_original_demos_commands(tmp_path):
    """The article's three `dapr run` lines, through scripts/dapr-run, serve its requests."""
    require("images")
    food = open(os.path.join(DATA, "images", "food.jpg"), "rb").read()
    log = open(tmp_path / "launchers.log", "wb")
    env_bin = ["--", BIN, "serve"]
    launchers = [
        launch(
            [
                "--app-id",
                "image-api-rs",
                "--app-protocol",
                "http",
                "--app-port",
                "9004",
                "--dapr-http-port",
                "3502",
                *COMPONENTS,
                "--log-level",
                "warn",
                *env_bin,
                "demo/grayscale.yaml",
                "--port",
                "9004",
            ],
            log,
        ),
        launch(
            [
                "--app-id",
                "image-api-go",
                "--app-protocol",
                "http",
                "--app-port",
                "9003",
                "--dapr-http-port",
                "3501",
                *COMPONENTS,
                "--log-level",
                "warn",
                *env_bin,
                "demo/classify.yaml",
                "--port",
                "9003",
            ],
            log,
        ),
        launch(
            [
                "run",
                "--app-id",
                "go-web-port",
                "--app-protocol",
                "http",
                "--app-port",
                "8080",
                "--dapr-http-port",
                "3500",
                "--dapr-grpc-port",
                "50031",
                *COMPONENTS,
                *env_bin,
                "demo/original/web.yaml",
            ],
            log,
        ),
    ]
    try:
        # curl http://localhost:3502/v1.0/invoke/image-api-rs/method/api/image --data-binary @food.jpg
        status, headers, body = wait_for(
            lambda: (
                (
                    r := http_request(
                        3502, "POST", "/v1.0/invoke/image-api-rs/method/api/image", food
                    )
                )[0]
                == 200
                and r
            ),
            timeout=60,
            what="image-api-rs through its daprd",
        )
        assert grey_png(body)
        # The original Go client: InvokeMethodWithContent(ctx, "image-api-go", "/api/image", "post", ...)
        from dapr.clients import DaprClient
        from dapr.conf import settings

        settings.DAPR_HTTP_PORT, settings.DAPR_GRPC_PORT = 3500, 50031
        wait_for(
            lambda: http_request(3500, "GET", "/v1.0/healthz")[0] == 204, what="the web's daprd"
        )
        with DaprClient(address="127.0.0.1:50031") as d:
            resp = wait_for(
                lambda: (
                    (r := d.invoke_method("image-api-go", "api/image", data=food, http_verb="POST"))
                    and r.data
                    and r
                ),
                timeout=60,
                what="image-api-go through the Python SDK",
            )
            assert b"hotdog" in resp.data
        # The original page's header values on the web app: go -> classify, else grayscale.
        status, _, body = wait_for(
            lambda: (
                (r := http_request(8080, "POST", "/api/hello", food, {"api": "go"}))[0] == 200 and r
            ),
            timeout=60,
            what="the web app",
        )
        assert (
            body.decode()
            == "It is very likely a <a href='https://www.google.com/search?q=hotdog'>hotdog</a> in the picture"
        )
        status, _, body = http_request(8080, "POST", "/api/hello", food, {"api": "rust"})
        assert status == 200 and grey_png(body)
        status, _, body = http_request(
            8080, "POST", "/api/hello", food
        )  # no header: grayscale, as the original
        assert status == 200 and grey_png(body)
    finally:
        stop(
            launchers,
            [9003, 9004, 8080, 3500, 3501, 3502, 50031],
            [
                "--app-id image-api-rs",
                "--app-id image-api-go",
                "--app-id go-web-port",
                "demo/original/web.yaml",
            ],
        )


def test_multi_app_run_file(tmp_path):
    """`dapr run -f dapr.yaml`: the four demo apps, a daprd each, Redis on 6390."""
    require("images")
    if not port_free(6390):
        pytest.skip("port 6390 is taken: dapr.yaml's Redis components need it")
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "6390",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    log = open(tmp_path / "run-file.log", "wb")
    launcher = None
    try:
        wait_for(lambda: not port_free(6390), what="redis")
        env = dict(os.environ, EDGECAR_BIN=BIN)
        launcher = subprocess.Popen(
            [LAUNCHER, "-f", "dapr.yaml"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        food = open(os.path.join(DATA, "images", "food.jpg"), "rb").read()
        status, _, body = wait_for(
            lambda: (
                (
                    r := http_request(
                        8080,
                        "POST",
                        "/api/hello",
                        food,
                        {"api": "classify", "Accept": "application/json"},
                    )
                )[0]
                == 200
                and r
            ),
            timeout=90,
            what="the demo through dapr.yaml",
        )
        assert json.loads(body)["top"][0]["label"] == "hotdog"
        status, _, body = http_request(8080, "POST", "/api/hello", food, {"api": "grayscale"})
        assert status == 200 and grey_png(body)
        status, _, page = http_request(8080, "GET", "/")
        assert status == 200 and b"<html" in page.lower()
    finally:
        if launcher:
            stop(
                [launcher],
                [8080, 8081, 8082, 8083, 3500, 3501, 3502, 3503],
                [
                    "--app-id web",
                    "--app-id grayscale",
                    "--app-id classify",
                    "--app-id events",
                    "demo/web.yaml",
                ],
            )
        redis.terminate()
        redis.wait(10)
    text = open(tmp_path / "run-file.log", errors="replace").read()
    assert (
        "== APP - classify ==" in text
        or "== DAPR - classify ==" in text
        or "dapr-run: classify" in text
    )


def test_the_shorthand_form(tmp_path):
    """`scripts/dapr-run APP_ID MANIFEST` (what scripts/demo --dapr uses): edgecar serve
    MANIFEST on the given port beside its daprd."""
    require("images")
    log = open(tmp_path / "shorthand.log", "wb")
    launcher = subprocess.Popen(
        [
            LAUNCHER,
            "gray-short",
            "demo/grayscale.yaml",
            "--app-port",
            "9104",
            "--http-port",
            "3604",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=dict(os.environ, EDGECAR_BIN=BIN),
    )
    try:
        food = open(os.path.join(DATA, "images", "food.jpg"), "rb").read()
        status, _, body = wait_for(
            lambda: (
                (r := http_request(3604, "POST", "/v1.0/invoke/gray-short/method/grayscale", food))[
                    0
                ]
                == 200
                and r
            ),
            timeout=60,
            what="the shorthand form's app through its daprd",
        )
        assert grey_png(body)
    finally:
        stop([launcher], [9104, 3604], ["--app-id gray-short"])

"""The demo application end to end over HTTP, in embedded mode: the four apps of demo/
in one edgecar process, the page's API (/api/hello, /api/events) driven like the
browser does."""

import glob
import io
import json
import os
import sys
import time

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import Apps  # noqa: E402

from shared_data import DATA  # noqa: E402  (the suite runs only where it exists: tests/CMakeLists.txt)

IMAGES = sorted(glob.glob(os.path.join(DATA, "images", "*")))
ALL = ["web", "grayscale", "classify", "events"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    apps = Apps(tmp, ALL, env={"EDGECAR_STATE_FILE": str(tmp / "state.sqlite")})
    yield apps
    apps.stop()


def hello(apps, api, body, accept=None):
    headers = {"api": api, "Content-Type": "application/octet-stream"}
    if accept:
        headers["Accept"] = accept
    return apps.request("POST", "/api/hello", body, headers, timeout=60)


def test_page_is_served(demo):
    status, headers, body = demo.request("GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"<title>edgecar demo" in body
    assert demo.request("GET", "/app.js")[0] == 200


@pytest.mark.parametrize("image", [os.path.basename(p) for p in IMAGES])
def test_grayscale_every_image(demo, image):
    data = read(os.path.join(DATA, "images", image))
    status, headers, body = hello(demo, "grayscale", data)
    assert status == 200, body[:300]
    out = Image.open(io.BytesIO(body))
    src = Image.open(io.BytesIO(data))
    assert out.size == src.size
    assert out.format == ("GIF" if src.format == "GIF" else "PNG")
    assert headers["Content-Type"] == ("image/gif" if src.format == "GIF" else "image/png")
    rgb = np.asarray(out.convert("RGB"))
    assert (rgb[:, :, 0] == rgb[:, :, 1]).all() and (rgb[:, :, 1] == rgb[:, :, 2]).all()
    # The grey level is the luma of the input pixel.
    expect = np.asarray(src.convert("RGB")).astype(int)
    luma = (77 * expect[:, :, 0] + 150 * expect[:, :, 1] + 29 * expect[:, :, 2] + 128) >> 8
    tolerance = 3 if src.format == "JPEG" else 0  # JPEG: decoder differences (see tests/nn)
    assert np.abs(rgb[:, :, 0].astype(int) - luma).max() <= tolerance


@pytest.mark.parametrize("image", [os.path.basename(p) for p in IMAGES])
def test_classify_every_image(demo, image):
    status, headers, body = hello(
        demo, "classify", read(os.path.join(DATA, "images", image)), accept="application/json"
    )
    assert status == 200, body[:300]
    doc = json.loads(body)
    assert len(doc["top"]) == 5 and doc["sentence"]
    expected = {
        "food.jpg": "hotdog",
        "hotdog.png": "hotdog",
        "hot_dog.jpg": "hotdog",
        "grace_hopper.jpg": "military uniform",
    }
    if image in expected:
        assert doc["top"][0]["label"] == expected[image]
        assert f"q={expected[image]}'>{expected[image]}</a>" in doc["sentence"]


def test_classify_sentence_as_the_original(demo):
    status, headers, body = hello(demo, "classify", read(os.path.join(DATA, "images", "food.jpg")))
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert (
        body.decode()
        == "It is very likely a <a href='https://www.google.com/search?q=hotdog'>hotdog</a> in the picture"
    )


def test_the_original_pages_header_values(demo):
    """The original web service sent `api: go` to its Go service (classification) and
    anything else (`rust`, ...) to the Rust one (grayscale)."""
    food = read(os.path.join(DATA, "images", "food.jpg"))
    status, _, body = hello(demo, "go", food)
    assert status == 200 and b"hotdog" in body
    for other in ["rust", "rust-wasi-socket"]:
        status, headers, body = hello(demo, other, food)
        assert status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n"


def test_events_recorded(demo):
    data = read(os.path.join(DATA, "images", "hopper.png"))
    assert hello(demo, "grayscale", data)[0] == 200
    assert hello(demo, "classify", data)[0] == 200
    deadline = time.time() + 10
    while True:
        status, _, body = demo.request("GET", "/api/events")
        assert status == 200
        events = json.loads(body)
        ours = [e for e in events if e["bytes"] == len(data)]
        if {e["operation"] for e in ours} >= {"grayscale", "classify"} or time.time() > deadline:
            break
        time.sleep(0.2)
    assert {e["operation"] for e in ours} >= {"grayscale", "classify"}, events
    for e in ours:
        assert e["caller"] == "127.0.0.1" and e["time"].endswith("Z") and e["id"]
    assert len({e["id"] for e in events}) == len(events)  # each event once


@pytest.mark.parametrize("api", ["grayscale", "classify"])
def test_bad_uploads(demo, api):
    assert hello(demo, api, b"this is not an image")[0] == 415
    truncated = read(os.path.join(DATA, "images", "food.jpg"))[:5000]
    assert hello(demo, api, truncated)[0] == 400
    # Over the 10 MB limit: refused before the body is read.
    raw = demo.raw(
        b"POST /api/hello HTTP/1.1\r\nHost: x\r\napi: "
        + api.encode()
        + b"\r\nContent-Length: 11000000\r\n\r\n"
    )
    assert raw.startswith(b"HTTP/1.1 413")
    # An api header other than classify or go reaches grayscale, as with the original
    # web service: here it is not an image.
    assert hello(demo, "nothing", b"x")[0] == 415
    # The service still works.
    assert hello(demo, api, read(os.path.join(DATA, "images", "hopper.png")))[0] == 200


def test_classify_down_grayscale_keeps_working(tmp_path):
    apps = Apps(tmp_path, ["web", "grayscale", "events"])
    try:
        status, _, body = hello(apps, "classify", read(os.path.join(DATA, "images", "food.jpg")))
        assert status == 503
        assert "classify service is not available" in json.loads(body)["message"]
        assert hello(apps, "grayscale", read(os.path.join(DATA, "images", "food.jpg")))[0] == 200
    finally:
        apps.stop()


def test_rate_limit_when_enabled(tmp_path):
    limit = 'RATE_LIMIT_PER_MINUTE: "0"'
    apps = Apps(
        tmp_path,
        ALL,
        overrides={"grayscale": [(limit, 'RATE_LIMIT_PER_MINUTE: "3"')]},
        env={"EDGECAR_STATE_FILE": str(tmp_path / "state.sqlite")},
    )
    try:
        data = read(os.path.join(DATA, "images", "hopper.png"))
        for attempt in range(2):  # a minute boundary in the middle restarts the count
            minute = int(time.time() // 60)
            codes = [hello(apps, "grayscale", data)[0] for _ in range(4)]
            if int(time.time() // 60) == minute:
                break
        assert codes[:3] == [200, 200, 200] and codes[3] == 429, codes
        status, _, body = hello(apps, "grayscale", data)
        assert status == 429 and "more than 3 grayscale requests" in json.loads(body)["message"]
        assert hello(apps, "classify", data)[0] == 200  # classify has no limit
    finally:
        apps.stop()


def test_grayscale_in_rust_is_the_same_function(demo, tmp_path):
    """functions/grayscale-rs, selected in the manifest, answers byte for byte as the C++
    function, records events and applies the rate limit the same way."""
    module = "module: ../build/functions/grayscale.wasm"
    limit = 'RATE_LIMIT_PER_MINUTE: "0"'
    rust = Apps(
        tmp_path,
        ALL,
        overrides={
            "grayscale": [
                (module, "module: ../build/functions/grayscale-rs.wasm"),
                (limit, 'RATE_LIMIT_PER_MINUTE: "20"'),
            ]
        },
        env={"EDGECAR_STATE_FILE": str(tmp_path / "state.sqlite")},
    )
    try:
        for path in IMAGES:
            data = read(path)
            status_rs, headers_rs, body_rs = hello(rust, "grayscale", data)
            status_cc, headers_cc, body_cc = hello(demo, "grayscale", data)
            assert (status_rs, headers_rs["Content-Type"], body_rs) == (
                status_cc,
                headers_cc["Content-Type"],
                body_cc,
            ), os.path.basename(path)
        assert hello(rust, "grayscale", b"not an image")[0] == 415
        deadline = time.time() + 10
        while time.time() < deadline:
            events = json.loads(rust.request("GET", "/api/events")[2])
            if len([e for e in events if e["operation"] == "grayscale"]) >= len(IMAGES):
                break
            time.sleep(0.2)
        assert len([e for e in events if e["operation"] == "grayscale"]) >= len(IMAGES)
        codes = [hello(rust, "grayscale", read(IMAGES[0]))[0] for _ in range(20)]
        assert 429 in codes  # over 20 this minute (the images above count too)
    finally:
        rust.stop()

"""Go guests (GOOS=wasip1) on sdk/go under `edgecar serve`: a handler exported with
//go:wasmexport that keeps a visit count in the state store through the dapr host module
(embedded Dapr), and the demo's grayscale written in Go (a WAGI command using the
edgecar_image host module), checked pixel by pixel against the luma of the input."""

import io
import os
import sys

import pytest
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import Server  # noqa: E402
from shared_data import DATA, require  # noqa: E402

GO_GUESTS = os.path.abspath(os.environ.get("GO_GUEST_DIR", "build/tests/go_guests"))
FUNCTIONS = os.path.abspath(os.environ.get("FUNCTIONS_DIR", "build/functions"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("go")
    s = Server(
        tmp,
        f"""app_id: go-guests
listen: 127.0.0.1:0
functions:
  - route: /hello
    module: {GO_GUESTS}/hello-go.wasm
    abi: handler
    host_modules: [dapr]
  - route: /grayscale
    module: {FUNCTIONS}/grayscale-go.wasm
    host_modules: [image]
""",
        extra_args=(),
    )
    yield s
    s.stop()


def test_a_go_handler_with_dapr_state(server):
    first = server.request("POST", "/hello?q=1", body=b"abc", headers={"X-Test": "yes"})
    second = server.request("POST", "/hello?q=2", body=b"", headers={})
    assert first[0] == 200 and first[2] == b'POST /hello?q=1 body="abc" x-test=yes visits=1\n'
    assert second[0] == 200 and second[2] == b'POST /hello?q=2 body="" x-test= visits=2\n'


@pytest.mark.parametrize("name", ["hopper.png", "food.jpg", "hopper.gif"])
def test_grayscale_in_go(server, name):
    original = open(require("images", name), "rb").read()
    status, headers, body = server.request("POST", "/grayscale", body=original)
    assert status == 200
    grey = Image.open(io.BytesIO(body))
    assert grey.format == ("GIF" if name.endswith(".gif") else "PNG")
    rgb = Image.open(io.BytesIO(original)).convert("RGB")
    assert grey.size == rgb.size
    if grey.format == "PNG":  # GIF's palette makes exact luma a PNG-only check
        want = [(77 * r + 150 * g + 29 * b + 128) >> 8 for r, g, b in rgb.getdata()]
        got = list(grey.convert("L").getdata())
        # JPEG decoders may round a few pixels differently from PIL's
        off = sum(1 for a, b in zip(want, got) if abs(a - b) > 1)
        assert off == 0 if name.endswith(".png") else off < len(want) // 100


def test_grayscale_in_go_refuses_what_is_not_an_image(server):
    status, _, body = server.request("POST", "/grayscale", body=b"not an image")
    assert status == 415 and b"unsupported" in body

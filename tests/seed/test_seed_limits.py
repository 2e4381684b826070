"""A networked guest at its limits: the seed repository's image-api-grayscale (hyper on
tokio_wasi, port 9005 compiled in; `GET /` needs no Dapr) with more connections than its
socket limit (--max-sockets), and with the host process out of descriptors (prlimit).
Either way the excess connections wait or fail, and once they are gone the server
answers again: nothing crashes, nothing stays stuck."""

import base64
import io
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import BIN, ROOT, stop_processes, wait_for  # noqa: E402
from shared_data import DATA, require  # noqa: E402
from test_seed_services import SEED, http_call, port_free  # noqa: E402

MODULE = os.path.join(SEED, "wasm", "image-api-grayscale.wasm")


def start(tmp_path, prefix=(), extra=()):
    if not os.path.exists(MODULE):
        pytest.fail(f"needs {MODULE} (the seed services; set SEED_DIR or EDGECAR_SHARED_DIR)")
    if not port_free(9005):
        pytest.fail("port 9005 (compiled into the service) is taken")
    log = open(tmp_path / "server.log", "w")
    p = subprocess.Popen(
        [*prefix, BIN, "run", "--allow-listen", "9005", *extra, MODULE],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, EDGECAR_AOT_CACHE=str(tmp_path / "aot")),
    )
    procs = [("grayscale", p, log)]
    wait_for(
        lambda: http_call(9005, "GET", "/", timeout=2)[0] == 200, what="the service", timeout=60
    )
    return procs


def flood(n):
    """n connections each sending a request; how many got an answer within 3 s."""
    conns, answered = [], 0
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", 9005), timeout=3)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            conns.append(s)
        except OSError:
            pass
    deadline = time.time() + 3
    for s in conns:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            answered += s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            pass
    return conns, answered


@pytest.mark.parametrize("limit", ["guest", "host"])
def test_connections_past_a_limit_are_survived(tmp_path, limit):
    if limit == "guest":
        procs = start(tmp_path, extra=["--max-sockets", "16"])
    else:
        procs = start(tmp_path, prefix=["prlimit", "--nofile=40:40", "--"])
    try:
        conns, answered = flood(100)
        assert 0 < answered < 100, answered  # some served, the rest held back by the limit
        for s in conns:
            s.close()
        time.sleep(1.5)  # tokio backs off accepting for a second after an accept error
        for _ in range(20):
            assert http_call(9005, "GET", "/", timeout=5)[0] == 200
        assert procs[0][1].poll() is None
    finally:
        stop_processes(procs)


def test_serve_runs_a_server_guest_and_stops_it_cleanly(tmp_path):
    """A manifest's `server:` guest under edgecar serve: one long-lived instance on its
    own port; SIGTERM stops it and serve."""
    if not port_free(9005):
        pytest.fail("port 9005 (compiled into the service) is taken")
    manifest = tmp_path / "grayscale.yaml"
    manifest.write_text(
        f"app_id: image-api-grayscale\nserver:\n  module: {MODULE}\n  port: 9005\n"
        '  network: {connect: ["127.0.0.1:3503"], lookup: [localhost]}\n'
    )
    check = subprocess.run([BIN, "serve", "--check", str(manifest)], capture_output=True, text=True)
    assert check.returncode == 0 and "server guest" in check.stdout and "port 9005" in check.stdout
    log = open(tmp_path / "serve.log", "w")
    p = subprocess.Popen(
        [BIN, "serve", str(manifest)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, EDGECAR_AOT_CACHE=str(tmp_path / "aot")),
    )
    try:
        wait_for(
            lambda: http_call(9005, "GET", "/", timeout=2)[0] == 200,
            what="the server guest",
            timeout=60,
        )
        p.terminate()
        assert p.wait(15) == 0
        text = (tmp_path / "serve.log").read_text()
        assert (
            "server guest" in text and "started (port 9005)" in text and "edgecar: stopped" in text
        )
    finally:
        if p.poll() is None:
            p.kill()
        log.close()


def test_a_server_guest_that_exits_is_started_again(tmp_path):
    """The events service ends when it cannot reach its Dapr sidecar for its database's
    secret: serve starts it again, 1 s later, then 2 s."""
    module = os.path.join(SEED, "wasm", "events_service.wasm")
    if not port_free(3505) or not port_free(9007):
        pytest.fail("ports 3505 and 9007 (compiled into the service) must be free")
    manifest = tmp_path / "events.yaml"
    manifest.write_text(
        f"app_id: events-service\nserver:\n  module: {module}\n  port: 9007\n"
        '  network: {connect: ["127.0.0.1:3505"], lookup: [localhost]}\n'
    )
    log = open(tmp_path / "serve.log", "w")
    p = subprocess.Popen(
        [BIN, "serve", str(manifest)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, EDGECAR_AOT_CACHE=str(tmp_path / "aot")),
    )
    try:
        wait_for(
            lambda: "starting it again in 2 s" in (tmp_path / "serve.log").read_text(),
            what="two restarts",
            timeout=60,
        )
        text = (tmp_path / "serve.log").read_text()
        assert (
            text.count("started (port 9007)") >= 2
            and "exited with code 1; starting it again in 1 s" in text
        )
        p.terminate()
        assert p.wait(15) == 0
    finally:
        if p.poll() is None:
            p.kill()
        log.close()


def test_a_server_app_serves_nothing_else(tmp_path):
    manifest = tmp_path / "both.yaml"
    manifest.write_text(
        f"app_id: x\nfunctions:\n  - route: /a\n    module: {MODULE}\nserver:\n  module: {MODULE}\n  port: 9005\n"
    )
    p = subprocess.run([BIN, "serve", "--check", str(manifest)], capture_output=True, text=True)
    assert p.returncode != 0 and "both.yaml:6" in p.stderr and "serves nothing else" in p.stderr, (
        p.stderr
    )


def test_dapr_run_launches_a_server_app_beside_daprd(tmp_path):
    """`scripts/dapr-run APP_ID MANIFEST` with a `server:` manifest: the app's port is the
    server's, serve is given no --port, and daprd reaches the guest (invocation through it,
    state saved through it on the sidecar port compiled into the module)."""
    require("images", "food.jpg")
    for port in (9005, 3503):
        if not port_free(port):
            pytest.fail(f"port {port} (compiled into the service) is taken")
    manifest = tmp_path / "grayscale.yaml"
    manifest.write_text(
        f"app_id: image-api-grayscale\nserver:\n  module: {MODULE}\n  port: 9005\n"
        '  network: {connect: ["127.0.0.1:3503"], lookup: [localhost]}\n'
    )
    log = open(tmp_path / "dapr-run.log", "w")
    launcher = subprocess.Popen(
        [
            os.path.join(ROOT, "scripts", "dapr-run"),
            "image-api-grayscale",
            str(manifest),
            "--http-port",
            "3503",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=dict(os.environ, EDGECAR_BIN=BIN, EDGECAR_AOT_CACHE=str(tmp_path / "aot")),
    )
    try:
        food = open(os.path.join(DATA, "images", "food.jpg"), "rb").read()
        status, body = wait_for(
            lambda: (
                (
                    r := http_call(
                        3503,
                        "POST",
                        "/v1.0/invoke/image-api-grayscale/method/grayscale",
                        food,
                        timeout=5,
                    )
                )[0]
                == 200
                and r
            ),
            what="the server app through its daprd",
            timeout=90,
        )
        img = Image.open(io.BytesIO(base64.b64decode(body)))
        assert all(r == g == b for r, g, b in img.convert("RGB").getdata())
        text = (tmp_path / "dapr-run.log").read_text()
        assert (
            "URL is http://localhost:3503/v1.0/state/statestore" in text
        )  # the guest's own Dapr call
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGTERM)
        launcher.wait(30)
        log.close()
    wait_for(lambda: port_free(9005) and port_free(3503), what="ports released", timeout=15)

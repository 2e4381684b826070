"""Embedded Dapr as a sidecar (`edgecar run --dapr-http-port`): Dapr's HTTP API on
loopback for a networked guest, with no daprd. Secrets from a secretstores.local.file
component (nested keys), state, invocation of an app registered by another edgecar
process, and hostile clients: an oversized body, a malformed request, more connections
than the cap. The guest (tests/wasi/guests/net.c) only waits in accept meanwhile."""

import http.client
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import BIN, stop_processes, wait_for  # noqa: E402

NET = os.path.join(
    os.path.abspath(os.environ.get("WASI_GUEST_DIR", "build/tests/guests")), "net.wasm"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


class Hello(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        out = json.dumps(
            {
                "path": self.path,
                "got": body.decode(),
                "caller": self.headers.get("dapr-caller-app-id"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *_):
        pass


@pytest.fixture(scope="module")
def sidecars(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sidecar")
    (tmp / "components").mkdir()
    (tmp / "secrets.json").write_text(
        json.dumps({"DB_URL": {"MYSQL": "mysql://u:p@h/db"}, "plain": "v"})
    )
    (tmp / "components" / "secrets.yaml").write_text(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: local-store\nspec:\n"
        "  type: secretstores.local.file\n  metadata:\n  - name: secretsFile\n    value: secrets.json\n"
        '  - name: nestedSeparator\n    value: ":"\n'
    )
    app = HTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    env = dict(os.environ, EDGECAR_DAPR_APPS=str(tmp / "apps"))
    ports = {"a": free_port(), "b": free_port()}
    procs = []
    for name, extra in (("b", ["--app-port", str(app.server_port)]), ("a", [])):
        log = open(tmp / f"{name}.log", "w")
        p = subprocess.Popen(
            [
                BIN,
                "run",
                "--dapr-http-port",
                str(ports[name]),
                "--app-id",
                f"app-{name}",
                "--resources-path",
                "components",
                *extra,
                "--allow-listen",
                "127.0.0.1",
                NET,
                "accept",
                str(free_port()),
            ],
            cwd=tmp,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append((name, p, log))
        wait_for(
            lambda: call(ports[name], "GET", "/v1.0/healthz")[0] == 204, what=f"sidecar {name}"
        )
    yield ports, tmp
    stop_processes(procs)
    app.shutdown()


def test_secrets_state_and_metadata(sidecars):
    ports, _ = sidecars
    a = ports["a"]
    assert call(a, "GET", "/v1.0/secrets/local-store/DB_URL:MYSQL") == (
        200,
        b'{"DB_URL:MYSQL":"mysql://u:p@h/db"}',
    )
    assert call(a, "GET", "/v1.0/secrets/local-store/plain")[1] == b'{"plain":"v"}'
    assert call(a, "GET", "/v1.0/secrets/other-store/plain")[0] == 401
    assert call(a, "GET", "/v1.0/secrets/local-store/missing")[0] == 500
    assert (
        call(a, "POST", "/v1.0/state/statestore", json.dumps([{"key": "k", "value": 42}]))[0] == 204
    )
    assert call(a, "GET", "/v1.0/state/statestore/k") == (200, b"42")
    assert json.loads(call(a, "GET", "/v1.0/metadata")[1])["id"] == "app-a"


def test_invocation_reaches_an_app_of_another_edgecar(sidecars):
    ports, _ = sidecars
    status, body = call(ports["a"], "POST", "/v1.0/invoke/app-b/method/greet/me", b"hello")
    assert status == 200
    assert json.loads(body) == {"path": "/greet/me", "got": "hello", "caller": "app-a"}
    status, body = call(ports["a"], "POST", "/v1.0/invoke/nobody/method/x", b"")
    assert status == 500 and b"ERR_DIRECT_INVOKE" in body
    # Registered, its process alive, but nothing listens on its port.
    _, tmp = sidecars
    (tmp / "apps" / "app-down").write_text(f"{free_port()} {os.getpid()}\n")
    status, body = call(ports["a"], "POST", "/v1.0/invoke/app-down/method/x", b"")
    assert status == 500 and b"ERR_DIRECT_INVOKE" in body and b"app app-down" in body, body


def test_hostile_clients_leave_it_serving(sidecars):
    ports, _ = sidecars
    a = ports["a"]
    # A body over the 16 MiB cap: 413, not a buffer that grows.
    s = socket.create_connection(("127.0.0.1", a))
    s.sendall(
        b"POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"
        + b"x" * 65536
    )
    assert s.recv(100).startswith(b"HTTP/1.1 413")
    s.close()
    # A malformed request line: the connection ends.
    s = socket.create_connection(("127.0.0.1", a), timeout=10)
    s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
    assert s.recv(100) == b""
    s.close()
    # More connections than the cap (256): the extra ones are closed at once. A few may be
    # admitted instead when an earlier connection (another test's) ends during the flood
    # (they wait for a request), and a loaded machine may take a while to accept them all:
    # watch the 44 together for up to 20 s.
    held = [socket.create_connection(("127.0.0.1", a), timeout=10) for _ in range(300)]
    try:
        closed, pending = 0, set(held[256:])
        deadline = time.time() + 20
        while pending and closed < 40 and time.time() < deadline:
            readable, _, _ = select.select(list(pending), [], [], deadline - time.time())
            for s in readable:
                try:
                    closed += s.recv(1) == b""
                except ConnectionResetError:
                    closed += 1
                pending.discard(s)
        assert closed >= 40, f"{closed} of {len(held) - 256} connections over the cap closed"
    finally:
        for s in held:
            s.close()
    wait_for(lambda: call(a, "GET", "/v1.0/healthz")[0] == 204, what="the sidecar after the flood")

"""The WasmEdge + Dapr demo repository's own services (second-state/dapr-wasm, built
from ../shared/seed-services), unmodified, under `edgecar run` with WasmEdge's socket
extension, twice: each beside a real daprd with the repository README's `dapr run` flags
(app ports 9005-9007, Dapr HTTP ports 3503-3505, components from its config/) and Redis
on 6379; then with edgecar's embedded Dapr answering on the same ports (no daprd, no
Redis). MariaDB as root:root on 127.0.0.1:3306 both times, as its config/ expects. The
ports are the ones compiled into the services, so this suite needs them free. A third
time as deploy/kubernetes/ runs them: `edgecar serve` of the manifests in
deploy/kubernetes/seed/, whose redirects send the compiled-in Dapr ports to the pod's
sidecar (3500 there; a free port per service here, where the three share a host).

Also: 1,000 concurrent keep-alive connections to a hyper server guest, and a slow
client (slowloris) that does not hold up the others."""

import base64
import http.client
import io
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time

import pytest
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import BIN, port_free, stop_processes, wait_for  # noqa: E402
from shared_data import DATA, require  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEED = os.path.abspath(os.environ.get("SEED_DIR") or os.path.join(DATA, "..", "seed-services"))

SERVICES = {  # app id: (source folder, module, app port, Dapr HTTP port, extra grants)
    "events-service": (
        "events-service",
        "events_service.wasm",
        9007,
        3505,
        ["--allow-connect", "127.0.0.1:3306"],
    ),
    "image-api-grayscale": ("image-api-grayscale", "image-api-grayscale.wasm", 9005, 3503, []),
    "image-api-classify": (
        "image-api-classify",
        "wasmedge_hyper_server_tflite.wasm",
        9006,
        3504,
        ["--nn-allow-guest-models"],
    ),
}


def daprd_path():
    path = os.environ.get("DAPRD")
    if path:
        return path
    return subprocess.run(
        [os.path.join(ROOT, "scripts", "install-dapr")], capture_output=True, text=True, check=True
    ).stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_call(port, method, path, body=None, headers=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


class Procs:
    def __init__(self, tmp):
        self.tmp, self.procs = tmp, []

    def start(self, name, cmd, cwd=None, env=None):
        log = open(self.tmp / f"{name}.log", "w")
        p = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=dict(os.environ, **(env or {}))
        )
        self.procs.append((name, p, log))
        return p

    def log(self, name):
        return (self.tmp / f"{name}.log").read_text()

    def tails(self):
        return "\n".join(
            f"--- {n}.log:\n" + "\n".join(self.log(n).splitlines()[-12:]) for n, _, _ in self.procs
        )


def start_mariadb(procs, tmp):
    data = tmp / "mariadb"
    sock = str(tmp / "mariadb.sock")
    subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--user=root",
        ],
        check=True,
        capture_output=True,
    )
    procs.start(
        "mariadb",
        [
            "mariadbd",
            "--no-defaults",
            f"--datadir={data}",
            "--port=3306",
            "--bind-address=127.0.0.1",
            f"--socket={sock}",
            "--user=root",
            "--skip-name-resolve",
            f"--pid-file={tmp / 'mariadb.pid'}",
        ],
    )
    wait_for(lambda: os.path.exists(sock), what="mariadbd")
    # root:root over TCP, as the repository's config/secrets.json says.
    sql = (
        "ALTER USER 'root'@'localhost' IDENTIFIED BY 'root'; CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; "
        "ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY 'root'; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1'; FLUSH PRIVILEGES;"
    )
    wait_for(
        lambda: (
            subprocess.run(
                ["mariadb", "--no-defaults", "-S", sock, "-uroot", "-e", sql], capture_output=True
            ).returncode
            == 0
        ),
        what="mariadb accepting root",
    )


def kubernetes_manifest(tmp, app_id, module, sidecar_port):
    """deploy/kubernetes/seed/APP.yaml with the module beside it and the pod's sidecar
    port (3500) replaced by this host's."""
    text = open(os.path.join(ROOT, "deploy", "kubernetes", "seed", app_id + ".yaml")).read()
    assert text.count(":3500") == 2 and f"module: {module}" in text
    path = tmp / (app_id + ".yaml")
    path.write_text(
        text.replace(":3500", f":{sidecar_port}").replace(
            f"module: {module}", f"module: {os.path.join(SEED, 'wasm', module)}"
        )
    )
    return path


@pytest.fixture(scope="module", params=["daprd", "embedded", "kubernetes"])
def seed(request, tmp_path_factory):
    mode = request.param
    require("images", "hopper.png")
    for m in (
        "events_service.wasm",
        "image-api-grayscale.wasm",
        "wasmedge_hyper_server_tflite.wasm",
    ):
        if not os.path.exists(os.path.join(SEED, "wasm", m)):
            pytest.fail(
                f"needs {SEED}/wasm/{m} (the seed services; set SEED_DIR or EDGECAR_SHARED_DIR)"
            )
    busy = [p for p in (3306, 6379, 3503, 3504, 3505, 9005, 9006, 9007) if not port_free(p)]
    if busy:
        pytest.fail(f"the seed services' fixed ports {busy} are taken on this machine")
    if not shutil.which("mariadbd"):
        pytest.fail("mariadbd is missing: run scripts/setup (Debian's mariadb-server)")
    tmp = tmp_path_factory.mktemp("seed-" + mode)
    procs = Procs(tmp)
    try:
        start_mariadb(procs, tmp)
        env = {"EDGECAR_AOT_CACHE": str(tmp / "aot-cache"), "EDGECAR_DAPR_APPS": str(tmp / "apps")}
        procs.state_port = 3503  # the grayscale service's sidecar
        if mode != "embedded":
            procs.start(
                "redis",
                [
                    "redis-server",
                    "--port",
                    "6379",
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
            )
            daprd = daprd_path()
        for app_id, (folder, module, app_port, http_port, grants) in SERVICES.items():
            cwd = os.path.join(SEED, "src", "dapr-wasm", folder)  # ../config is the repository's
            if mode == "embedded":
                assert port_free(6379), "embedded mode runs without Redis"
                grants = [
                    *grants,
                    "--dapr-http-port",
                    str(http_port),
                    "--app-id",
                    app_id,
                    "--app-port",
                    str(app_port),
                    "--resources-path",
                    "../config",
                ]
            elif mode == "kubernetes":
                sidecar = free_port()
                if app_id == "image-api-grayscale":
                    procs.state_port = sidecar
                start_daprd(procs, daprd, app_id, app_port, sidecar, cwd)
            else:
                start_daprd(procs, daprd, app_id, app_port, http_port, cwd)
            if mode == "kubernetes":
                procs.start(
                    app_id,
                    [BIN, "serve", str(kubernetes_manifest(tmp, app_id, module, sidecar))],
                    cwd=cwd,
                    env=env,
                )
            else:
                procs.start(
                    app_id,
                    [
                        BIN,
                        "run",
                        "--allow-listen",
                        str(app_port),
                        "--allow-connect",
                        f"127.0.0.1:{http_port}",
                        "--allow-lookup",
                        "localhost",
                        "--max-sockets",
                        "4096",
                        *grants,
                        os.path.join(SEED, "wasm", module),
                    ],
                    cwd=cwd,
                    env=env,
                )
            wait_for(
                lambda: http_call(app_port, "GET", "/", timeout=2)[0] in (200, 404),
                what=app_id,
                timeout=120,
            )
        yield procs
    except Exception:
        print(procs.tails())
        raise
    finally:
        stop_processes(procs.procs)


def start_daprd(procs, daprd, app_id, app_port, http_port, cwd):
    """daprd with the flags of the repository's `dapr run` commands; it must answer before
    its app starts (the events service asks for its secret once, 1.5 s after start)."""
    procs.start(
        f"{app_id}-daprd",
        [
            daprd,
            "--app-id",
            app_id,
            "--app-port",
            str(app_port),
            "--app-protocol",
            "http",
            "--dapr-http-port",
            str(http_port),
            "--dapr-grpc-port",
            str(free_port()),
            "--dapr-internal-grpc-port",
            str(free_port()),
            "--enable-metrics=false",
            "--resources-path",
            "../config",
            "--log-level",
            "warn",
        ],
        cwd=cwd,
    )
    wait_for(
        lambda: http_call(http_port, "GET", "/v1.0/healthz/outbound", timeout=2)[0] == 204,
        what=f"{app_id}'s daprd",
    )


def test_events_service_creates_its_table(seed):
    status, body = http_call(9007, "GET", "/init")
    assert (status, json.loads(body)) == (200, {"status": True}), seed.tails()


def test_grayscale_returns_a_grey_png_and_records_the_call(seed):
    http_call(9007, "GET", "/init")
    original = open(os.path.join(DATA, "images", "hopper.png"), "rb").read()
    status, body = http_call(9005, "POST", "/grayscale", original, {"Referer": "seed-test-caller"})
    assert status == 200, seed.tails()
    img = Image.open(io.BytesIO(base64.b64decode(body)))
    assert img.format == "PNG" and img.size == Image.open(io.BytesIO(original)).size
    rgb = img.convert("RGB")
    assert all(r == g == b for r, g, b in rgb.getdata())
    # The caller's timestamp in the state store (Redis through daprd), and the event in MySQL.
    status, stored = http_call(seed.state_port, "GET", "/v1.0/state/statestore/seed-test-caller")
    assert status == 200
    events = json.loads(http_call(9007, "GET", "/events")[1])
    grayscale = [
        e for e in events if e["op_type"] == "grayscale" and e["input_size"] == len(original)
    ]
    assert grayscale and int(stored) in [e["event_ts"] for e in grayscale]


def test_classify_names_a_hot_dog_and_records_the_call(seed):
    http_call(9007, "GET", "/init")
    food = open(os.path.join(SEED, "src", "dapr-wasm", "docs", "food.jpg"), "rb").read()
    status, body = http_call(9006, "POST", "/classify", food)
    assert status == 200, seed.tails()
    assert b"hotdog is detected" in body or b"hot dog" in body, body
    events = json.loads(http_call(9007, "GET", "/events")[1])
    assert any(e["op_type"] == "classify" and e["input_size"] == len(food) for e in events)


def test_a_thousand_concurrent_connections(seed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    conns = []
    try:
        for _ in range(1000):
            s = socket.create_connection(("127.0.0.1", 9005), timeout=60)
            conns.append(s)
        for s in conns:  # every connection open at once, then each asks
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        ok = 0
        for s in conns:
            data = b""
            while b"Try POSTing" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            ok += data.startswith(b"HTTP/1.1 200") and b"Try POSTing" in data
        assert ok == 1000
    finally:
        for s in conns:
            s.close()


def test_a_slow_client_does_not_hold_up_others(seed):
    slow = socket.create_connection(("127.0.0.1", 9005), timeout=30)
    try:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        for _ in range(20):
            t = time.time()
            assert http_call(9005, "GET", "/", timeout=5)[0] == 200
            assert time.time() - t < 2
    finally:
        slow.close()

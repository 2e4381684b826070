"""edgecar apps under Dapr's own sidecar: the real daprd (scripts/install-dapr) with
Redis (redis-server from Debian) for state and pub/sub, a local-file secret store and a
cron input binding. Covers the app protocol (invocation, /dapr/subscribe, pub/sub
outcomes, bindings, APP_API_TOKEN) and the dapr host module (state with ETags, secrets,
publish, invocation between apps), plus a client on Dapr's official Python SDK, and the
demo in Dapr mode."""

import glob
import http.client
import io
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time

import pytest
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import BIN, ROOT, absolute_paths, stop_processes, wait_for  # noqa: E402
from shared_data import DATA, require  # noqa: E402

GUESTS = os.path.abspath(os.environ.get("DAPR_GUEST_DIR", "build/tests/dapr_guests"))
SERVE_GUESTS = os.path.abspath(os.environ.get("SERVE_GUEST_DIR", "build/tests/serve_guests"))


def daprd_path():
    path = os.environ.get("DAPRD")
    if path:
        return path
    return subprocess.run(
        [os.path.join(ROOT, "scripts", "install-dapr")], capture_output=True, text=True, check=True
    ).stdout.strip()


_handed_out = set()


def free_port():
    """A port nobody listens on, below Linux's ephemeral range (32768 and up): a port the
    kernel picked for bind(0) can be taken by any process's outgoing connection (daprd
    opens many) between this test closing it and daprd binding it."""
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(20000, 32000)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port in 20000-32000")


def http_request(port, method, path, body=None, headers=None, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


class Procs:
    """Processes of one test, stopped (TERM, then KILL) at the end."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def start(self, name, cmd, env=None, cwd=None):
        log = open(self.tmp / f"{name}.log", "w")
        p = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})), cwd=cwd
        )
        self.procs.append((name, p, log))
        return p

    def log(self, name):
        return (self.tmp / f"{name}.log").read_text()

    def stop(self):
        stop_processes(self.procs)


class Cluster:
    """Redis, components and configuration in a temporary directory, and apps each with
    its own daprd."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = Procs(tmp)
        self.redis_port = free_port()
        self.procs.start(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )
        wait_for(
            lambda: (
                socket.create_connection(("127.0.0.1", self.redis_port), timeout=1).close() or True
            ),
            what="redis",
        )
        comp = tmp / "components"
        comp.mkdir()
        # The project's components, with this test's Redis port and file locations.
        for path in glob.glob(
            os.path.join(ROOT, "deploy", "components", "redis", "*.yaml")
        ) + glob.glob(os.path.join(ROOT, "deploy", "components", "common", "*.yaml")):
            text = open(path).read().replace("localhost:6390", f"localhost:{self.redis_port}")
            text = text.replace("deploy/secrets.json", os.path.join(ROOT, "deploy", "secrets.json"))
            text = text.replace("  - ticker", "  - sub")
            text = text.replace("build/dapr/files", str(tmp / "files"))
            (comp / os.path.basename(path)).write_text(text)
        self.components = str(comp)
        config = (
            open(os.path.join(ROOT, "deploy", "config.yaml"))
            .read()
            .replace("build/dapr/nameresolution.db", str(tmp / "nr.db"))
        )
        (tmp / "config.yaml").write_text(config)
        self.config = str(tmp / "config.yaml")
        self.daprd = daprd_path()
        self.apps = {}

    def manifest(self, app_id, functions, extra=""):
        path = self.tmp / f"{app_id}.yaml"
        path.write_text(f"app_id: {app_id}\nlisten: 127.0.0.1:0\nfunctions:\n{functions}{extra}")
        return str(path)

    def start_app(
        self, app_id, manifest, env=None, daprd_first=False, app_env=None, daprd_env=None
    ):
        # A port can still be taken between choosing and binding it; daprd then exits
        # ("could not listen on any endpoint") and the app starts again on other ports.
        for attempt in range(3):
            ports = {
                "app": free_port(),
                "http": free_port(),
                "grpc": free_port(),
                "internal": free_port(),
            }
            self.apps[app_id] = ports
            started = self._start_pair(
                app_id, manifest, ports, env, daprd_first, app_env, daprd_env
            )
            daprd = started["daprd"]

            def healthy():
                if daprd.poll() is not None:
                    return "exited"
                return (
                    http_request(ports["http"], "GET", "/v1.0/healthz/outbound", timeout=2)[0]
                    == 204
                )

            try:
                state = wait_for(healthy, what=f"{app_id}'s daprd")
            except AssertionError as e:
                raise AssertionError(f"{e}\n{self._tails(app_id)}") from None
            if state is True:
                return ports
            log = self.procs.log(f"{app_id}-daprd")
            for p in started.values():
                if p.poll() is None:
                    p.terminate()
                    p.wait(15)
            port_taken = "address already in use" in log or "could not listen" in log
            if not port_taken or attempt == 2:
                raise AssertionError(
                    f"{app_id}'s daprd exited with {daprd.returncode}\n{self._tails(app_id)}"
                )
        return ports

    def _tails(self, app_id, lines=15):
        out = []
        for part in ("daprd", "edgecar"):
            try:
                text = self.procs.log(f"{app_id}-{part}").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- last lines of {app_id}-{part}.log:\n" + "\n".join(text))
        return "\n".join(out)

    def _start_pair(self, app_id, manifest, ports, env, daprd_first, app_env, daprd_env):
        started = {}

        def edgecar():
            e = {
                "DAPR_HTTP_PORT": str(ports["http"]),
                "DAPR_GRPC_PORT": str(ports["grpc"]),
                "APP_ID": app_id,
                **(env or {}),
                **(app_env or {}),
            }
            started["edgecar"] = self.procs.start(
                f"{app_id}-edgecar", [BIN, "serve", manifest, "--port", str(ports["app"])], env=e
            )

        def daprd():
            started["daprd"] = self.procs.start(
                f"{app_id}-daprd",
                [
                    self.daprd,
                    "--app-id",
                    app_id,
                    "--app-port",
                    str(ports["app"]),
                    "--app-protocol",
                    "http",
                    "--dapr-http-port",
                    str(ports["http"]),
                    "--dapr-grpc-port",
                    str(ports["grpc"]),
                    "--dapr-internal-grpc-port",
                    str(ports["internal"]),
                    "--enable-metrics=false",
                    "--config",
                    self.config,
                    "--resources-path",
                    self.components,
                    "--log-level",
                    "warn",
                    "--enable-app-health-check",
                    "--app-health-check-path",
                    "/healthz",
                    "--app-health-probe-interval",
                    "1",
                ],
                env={**(env or {}), **(daprd_env or {})},
                cwd=ROOT,
            )

        if daprd_first:
            daprd()
            time.sleep(2)
            edgecar()
        else:
            edgecar()
            daprd()
        return started

    def http(self, app_id, method, path, body=None, headers=None, timeout=30):
        return http_request(self.apps[app_id]["http"], method, path, body, headers, timeout)

    def invoke(self, via, app_id, method_path, verb="POST", body=None, headers=None):
        return self.http(via, verb, f"/v1.0/invoke/{app_id}/method/{method_path}", body, headers)

    def stop(self):
        self.procs.stop()


def probe_functions(routes, more=""):
    return (
        "".join(
            f"  - route: {r}\n    module: {GUESTS}/dapr_probe.wasm\n    host_modules: [dapr]\n"
            for r in routes
        )
        + more
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dapr")
    c = Cluster(tmp)
    probe = c.manifest(
        "probe",
        probe_functions(
            [
                "/state",
                "/secret",
                "/publish",
                "/invoke",
                "/counter",
                "/trace",
                "/bulk",
                "/tx",
                "/binding",
            ],
            f"  - route: /inspect/*\n    module: {SERVE_GUESTS}/inspect.wasm\n"
            f"  - route: /echo\n    module: {SERVE_GUESTS}/echo.wasm\n"
            f"  - route: /hello\n    module: {SERVE_GUESTS}/handler.wasm\n    abi: handler\n",
        ),
    )
    sub = c.manifest(
        "sub",
        probe_functions(["/flaky", "/drop", "/tick", "/counter", "/seen"]),
        "subscriptions:\n  - {pubsub: pubsub, topic: orders, route: /flaky}\n  - {pubsub: pubsub, topic: junk, route: /drop}\n"
        '  - {pubsub: pubsub, topic: routed, route: /drop, rules: [{match: \'event.data.kind == "seen" && event.type.startsWith("com.dapr")\', path: /seen}]}\n'
        "bindings: [tick]\n",
    )
    try:
        c.start_app("probe", probe)
        c.start_app("sub", sub)
        # Both apps reachable through their sidecars.
        wait_for(
            lambda: c.invoke("probe", "sub", "counter")[0] == 200, what="invocation probe -> sub"
        )
        yield c
    finally:
        c.stop()


def test_invocation_verbs_query_headers(cluster):
    for verb in ["GET", "POST", "PUT", "DELETE", "PATCH"]:
        status, _, body = cluster.invoke(
            "probe",
            "probe",
            "inspect/x/y?color=blue&n=1",
            verb=verb,
            body=b"abc" if verb != "GET" else None,
            headers={"X-Test": "through-daprd", "Content-Type": "text/plain"},
        )
        assert status == 200, body
        text = body.decode()
        assert f"REQUEST_METHOD={verb}" in text
        assert "PATH_INFO=/inspect/x/y" in text
        assert "QUERY_STRING=color=blue&n=1" in text
        assert "HTTP_X_TEST=through-daprd" in text


def test_invocation_binary_bodies_and_handler(cluster):
    data = secrets.token_bytes(100_000)
    status, _, body = cluster.invoke(
        "probe", "probe", "echo", body=data, headers={"Content-Type": "application/octet-stream"}
    )
    assert status == 200 and body == data
    status, _, body = cluster.invoke("probe", "probe", "hello", verb="GET")
    assert status == 200 and body  # the handler ABI through daprd


def test_trace_context_reaches_the_function(cluster):
    trace_id = secrets.token_hex(16)
    status, _, body = cluster.invoke(
        "probe",
        "probe",
        "trace",
        headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
    )
    assert status == 200
    assert trace_id in json.loads(body)["traceparent"]


def test_subscribe_endpoint(cluster):
    status, _, body = http_request(cluster.apps["sub"]["app"], "GET", "/dapr/subscribe")
    assert status == 200
    subs = {s["topic"]: s for s in json.loads(body)}
    assert subs["orders"] == {"pubsubname": "pubsub", "topic": "orders", "route": "/flaky"}
    assert subs["routed"]["routes"] == {
        "rules": [
            {
                "match": 'event.data.kind == "seen" && event.type.startsWith("com.dapr")',
                "path": "/seen",
            }
        ],
        "default": "/drop",
    }
    assert http_request(cluster.apps["sub"]["app"], "OPTIONS", "/tick")[0] == 200


def test_guest_state_with_etags(cluster):
    status, _, body = http_request(cluster.apps["probe"]["app"], "GET", "/state")
    assert status == 200
    r = json.loads(body)
    assert r["save"] == 204 and r["get"] == 200 and r["value"] == {"n": 1} and r["etag_set"] == 1
    assert (
        r["wrong_etag"] == 409
        and r["right_etag"] == 204
        and r["stale_etag"] == 409
        and r["after"] == {"n": 3}
    )
    # First-write without an ETag may not overwrite an existing key (daprd's Redis store
    # answers 500, edgecar's embedded store 409).
    assert r["first_write_without_etag"] >= 400 and r["after_first_write"] == {"n": 3}
    assert r["delete_stale_etag"] == 409 and r["delete"] == 204 and r["get_deleted"] == 204


def test_guest_bulk_get_and_transaction(cluster):
    r = json.loads(http_request(cluster.apps["probe"]["app"], "GET", "/bulk")[2])
    assert r["saves"] == [204, 204] and r["status"] == 200
    items = {i["key"]: i for i in r["items"]}
    assert (
        items["a"]["data"] == "alpha"
        and items["b"]["data"] == {"beta": 2}
        and "data" not in items["missing"]
    )
    assert items["a"]["etag"]
    r = json.loads(http_request(cluster.apps["probe"]["app"], "GET", "/tx")[2])
    assert r["status"] == 204 and r["x"] == {"in": "tx"} and r["a_status"] == 204


def test_guest_invokes_an_output_binding(cluster):
    r = json.loads(
        http_request(
            cluster.apps["probe"]["app"], "POST", "/binding?name=probe.txt", b"written by a guest"
        )[2]
    )
    assert r["status"] in (200, 204)
    assert (cluster.tmp / "files" / "probe.txt").read_bytes() == b"written by a guest"


def test_guest_reads_a_secret(cluster):
    status, _, body = http_request(cluster.apps["probe"]["app"], "GET", "/secret")
    r = json.loads(body)
    assert r["status"] == 200 and r["body"] == {
        "demo-greeting": "hello from the local secret store"
    }


def test_guest_invokes_another_app(cluster):
    status, _, body = http_request(
        cluster.apps["probe"]["app"], "POST", "/invoke?app=sub&method=counter", b""
    )
    head, _, rest = body.decode().partition("\n")
    assert json.loads(head)["status"] == 200
    assert json.loads(rest.strip())["counter"] >= 1


def state_int(cluster, app, key):
    status, _, body = cluster.http(app, "GET", f"/v1.0/state/statestore/{key}")
    return int(body) if status == 200 and body else 0


def test_pubsub_retry_then_success(cluster):
    before = state_int(cluster, "sub", "flaky-accepted")
    status, _, body = http_request(
        cluster.apps["probe"]["app"], "POST", "/publish?topic=orders", b'{"order": 1}'
    )
    assert json.loads(body)["status"] == 204
    wait_for(
        lambda: state_int(cluster, "sub", "flaky-accepted") == before + 1,
        timeout=40,
        what="the retried event to be accepted",
    )
    assert state_int(cluster, "sub", "flaky-deliveries") >= 2 * (before + 1)


def test_pubsub_drop(cluster):
    before = state_int(cluster, "sub", "dropped")
    status, _, body = http_request(
        cluster.apps["probe"]["app"], "POST", "/publish?topic=junk", b'{"junk": true}'
    )
    assert json.loads(body)["status"] == 204
    wait_for(
        lambda: state_int(cluster, "sub", "dropped") == before + 1,
        timeout=20,
        what="the dropped event's delivery",
    )
    time.sleep(5)  # longer than the redelivery interval: a dropped event does not return
    assert state_int(cluster, "sub", "dropped") == before + 1


def test_pubsub_routing_rules(cluster):
    """daprd evaluates the rule from /dapr/subscribe: a matching event goes to its path."""
    seen, dropped = state_int(cluster, "sub", "seen"), state_int(cluster, "sub", "dropped")
    status, _, body = http_request(
        cluster.apps["probe"]["app"], "POST", "/publish?topic=routed", b'{"kind": "seen"}'
    )
    assert json.loads(body)["status"] == 204
    wait_for(
        lambda: state_int(cluster, "sub", "seen") == seen + 1,
        timeout=20,
        what="the routed event at /seen",
    )
    assert (
        state_int(cluster, "sub", "seen-cloudevent") == 1
    )  # deliveries are recognised by this content type
    status, _, body = http_request(
        cluster.apps["probe"]["app"], "POST", "/publish?topic=routed", b'{"kind": "other"}'
    )
    wait_for(
        lambda: state_int(cluster, "sub", "dropped") == dropped + 1,
        timeout=20,
        what="the other event at the default route",
    )
    assert state_int(cluster, "sub", "seen") == seen + 1


def test_cron_binding_fires_a_function(cluster):
    first = state_int(cluster, "sub", "ticks")
    wait_for(
        lambda: state_int(cluster, "sub", "ticks") >= first + 2, timeout=15, what="two cron ticks"
    )


def test_python_sdk_client(cluster):
    from dapr.conf import settings

    settings.DAPR_HTTP_PORT = cluster.apps["probe"]["http"]  # the SDK's health check
    settings.DAPR_GRPC_PORT = cluster.apps["probe"]["grpc"]
    from dapr.clients import DaprClient

    with DaprClient(address=f"127.0.0.1:{cluster.apps['probe']['grpc']}") as d:
        resp = d.invoke_method("probe", "echo", data=b"from the python sdk", http_verb="POST")
        assert resp.data == b"from the python sdk"
        d.save_state("statestore", "sdk-key", "sdk-value")
        assert d.get_state("statestore", "sdk-key").data == b"sdk-value"
        resp = d.invoke_method("probe", "inspect/sdk", data=b"", http_verb="GET")
        assert b"PATH_INFO=/inspect/sdk" in resp.data


def test_api_token(tmp_path):
    c = Cluster(tmp_path)
    try:
        m = c.manifest("secure", f"  - route: /echo\n    module: {SERVE_GUESTS}/echo.wasm\n")
        c.start_app("secure", m, env={"APP_API_TOKEN": "s3cret"})
        status, _, body = wait_for(
            lambda: (r := c.invoke("secure", "secure", "echo", body=b"ok"))[0] == 200 and r,
            what="invocation with the token",
        )
        assert body == b"ok"
        # Without the token, or with another, the app refuses.
        assert http_request(c.apps["secure"]["app"], "POST", "/echo", b"x")[0] == 401
        assert (
            http_request(
                c.apps["secure"]["app"], "POST", "/echo", b"x", {"dapr-api-token": "wrong"}
            )[0]
            == 401
        )
        assert (
            http_request(
                c.apps["secure"]["app"], "POST", "/echo", b"x", {"dapr-api-token": "s3cret"}
            )[0]
            == 200
        )
    finally:
        c.stop()


def test_daprd_started_before_the_app(tmp_path):
    c = Cluster(tmp_path)
    try:
        m = c.manifest("late", f"  - route: /echo\n    module: {SERVE_GUESTS}/echo.wasm\n")
        c.start_app("late", m, daprd_first=True)
        wait_for(
            lambda: c.invoke("late", "late", "echo", body=b"late")[2] == b"late",
            what="invocation once the app is up",
        )
    finally:
        c.stop()


def test_demo_in_dapr_mode(tmp_path):
    """The four demo apps, each beside its own daprd, Redis for state and pub/sub."""
    require("images")
    c = Cluster(tmp_path)
    try:
        for app in ["grayscale", "classify", "events", "web"]:
            text = absolute_paths(
                open(os.path.join(ROOT, "demo", f"{app}.yaml")).read(), os.path.join(ROOT, "demo")
            )
            path = tmp_path / f"demo-{app}.yaml"
            path.write_text(text)
            c.start_app(app, str(path))
        web = c.apps["web"]["app"]
        food = open(os.path.join(DATA, "images", "food.jpg"), "rb").read()
        status, _, body = wait_for(
            lambda: (
                (r := http_request(web, "POST", "/api/hello", food, {"api": "classify"}))[0] == 200
                and r
            ),
            what="classify through daprd",
        )
        assert (
            body.decode()
            == "It is very likely a <a href='https://www.google.com/search?q=hotdog'>hotdog</a> in the picture"
        )
        grace = open(os.path.join(DATA, "images", "grace_hopper.jpg"), "rb").read()
        status, _, body = http_request(
            web, "POST", "/api/hello", grace, {"api": "classify", "Accept": "application/json"}
        )
        assert status == 200 and json.loads(body)["top"][0]["label"] == "military uniform"
        expected = {
            "food.jpg": "hotdog",
            "hotdog.png": "hotdog",
            "hot_dog.jpg": "hotdog",
            "grace_hopper.jpg": "military uniform",
        }
        for path in sorted(glob.glob(os.path.join(DATA, "images", "*"))):
            data = open(path, "rb").read()
            status, _, body = http_request(
                web, "POST", "/api/hello", data, {"api": "classify", "Accept": "application/json"}
            )
            assert status == 200, body[:200]
            doc = json.loads(body)
            assert len(doc["top"]) == 5 and doc["sentence"]
            if os.path.basename(path) in expected:
                assert doc["top"][0]["label"] == expected[os.path.basename(path)]
            status, headers, body = http_request(
                web, "POST", "/api/hello", data, {"api": "grayscale"}
            )
            assert status == 200, body[:200]
            out, src = Image.open(io.BytesIO(body)), Image.open(io.BytesIO(data))
            assert out.size == src.size
            rgb = out.convert("RGB")
            assert all(p[0] == p[1] == p[2] for p in rgb.getdata())
        events = wait_for(
            lambda: (
                (ev := json.loads(http_request(web, "GET", "/api/events")[2]))
                and {e["operation"] for e in ev} >= {"classify", "grayscale"}
                and ev
            ),
            timeout=30,
            what="events recorded through Redis pub/sub",
        )
        assert any(e["operation"] == "classify" and e["bytes"] == len(food) for e in events)
        # classify stopped: the page's API says so, grayscale keeps working.
        for name, p, _ in c.procs.procs:
            if name.startswith("classify-"):
                p.terminate()
                p.wait(15)
        status, _, body = wait_for(
            lambda: (
                (r := http_request(web, "POST", "/api/hello", food, {"api": "classify"}))[0] == 503
                and r
            ),
            what="503 with classify down",
        )
        assert "classify service is not available" in json.loads(body)["message"]
        assert http_request(web, "POST", "/api/hello", food, {"api": "grayscale"})[0] == 200
    finally:
        c.stop()

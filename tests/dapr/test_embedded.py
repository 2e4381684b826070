"""The same dapr_probe guest as tests/dapr/test_dapr.py, with no sidecar: edgecar's
embedded Dapr answers (service invocation between apps of the process, SQLite state,
in-process pub/sub, secrets from EDGECAR_SECRETS_FILE)."""

import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import ROOT, Apps  # noqa: E402

GUESTS = os.path.abspath(os.environ.get("DAPR_GUEST_DIR", "build/tests/dapr_guests"))
SERVE_GUESTS = os.path.abspath(os.environ.get("SERVE_GUEST_DIR", "build/tests/serve_guests"))


def probe(routes):
    return "".join(
        f"  - route: {r}\n    module: {GUESTS}/dapr_probe.wasm\n    host_modules: [dapr]\n"
        for r in routes
    )


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("embedded")
    d = tmp / "manifests"
    d.mkdir()
    (d / "probe.yaml").write_text(
        "app_id: probe\nlisten: 127.0.0.1:0\nfunctions:\n"
        + probe(
            [
                "/state",
                "/secret",
                "/publish",
                "/invoke",
                "/trace",
                "/get",
                "/bulk",
                "/tx",
                "/binding",
            ]
        )
    )
    (d / "sub.yaml").write_text(
        "app_id: sub\nlisten: 127.0.0.1:0\nfunctions:\n"
        + probe(["/flaky", "/drop", "/counter", "/tick", "/get"])
        + "subscriptions:\n  - {pubsub: pubsub, topic: orders, route: /flaky}\n  - {pubsub: pubsub, topic: junk, route: /drop}\n"
        '  - {pubsub: pubsub, topic: routed, route: /tick, rules: [{match: \'event.data.kind == "drop-me" && event.type.startsWith("com.dapr")\', path: /drop}]}\n'
    )
    a = Apps(
        tmp,
        ["probe", "sub"],
        main="probe",
        manifest_dir=str(d),
        env={
            "EDGECAR_STATE_FILE": str(tmp / "state.sqlite"),
            "EDGECAR_SECRETS_FILE": os.path.join(ROOT, "deploy", "secrets.json"),
        },
    )
    yield a
    a.stop()


def get(apps, app, key):
    c = apps.ports[app]
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", c, timeout=10)
    conn.request("GET", f"/get?key={key}")
    return int(conn.getresponse().read())


def test_state_with_etags(apps):
    status, _, body = apps.request("GET", "/state")
    r = json.loads(body)
    assert r["save"] == 204 and r["get"] == 200 and r["value"] == {"n": 1} and r["etag_set"] == 1
    assert (
        r["wrong_etag"] == 409
        and r["right_etag"] == 204
        and r["stale_etag"] == 409
        and r["after"] == {"n": 3}
    )
    assert r["first_write_without_etag"] == 409 and r["after_first_write"] == {"n": 3}
    assert r["delete_stale_etag"] == 409 and r["delete"] == 204 and r["get_deleted"] == 204


def test_bulk_get_and_transaction(apps):
    r = json.loads(apps.request("GET", "/bulk")[2])
    items = {i["key"]: i for i in r["items"]}
    assert (
        r["status"] == 200
        and items["a"]["data"] == "alpha"
        and items["b"]["data"] == {"beta": 2}
        and "data" not in items["missing"]
    )
    r = json.loads(apps.request("GET", "/tx")[2])
    assert r["status"] == 204 and r["x"] == {"in": "tx"} and r["a_status"] == 204


def test_output_binding_needs_a_sidecar(apps):
    assert json.loads(apps.request("POST", "/binding?name=x", b"data")[2])["status"] == 501


def test_secret_from_file(apps):
    r = json.loads(apps.request("GET", "/secret")[2])
    assert r["status"] == 200 and r["body"] == {
        "demo-greeting": "hello from the local secret store"
    }


def test_invoke_other_app(apps):
    head = (
        apps.request("POST", "/invoke?app=sub&method=counter", b"")[2].decode().strip().split("\n")
    )
    assert json.loads(head[0])["status"] == 200 and json.loads(head[-1])["counter"] >= 1
    head = apps.request("POST", "/invoke?app=nowhere&method=x", b"")[2].decode().strip().split("\n")
    assert json.loads(head[0])["status"] == 500 and "ERR_DIRECT_INVOKE" in head[-1]


def wait_for(fn, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return True
        time.sleep(0.1)
    return False


def test_pubsub_retry_then_success_and_drop(apps):
    assert (
        json.loads(apps.request("POST", "/publish?topic=orders", b'{"order": 7}')[2])["status"]
        == 204
    )
    assert wait_for(lambda: get(apps, "sub", "flaky-accepted") == 1)
    assert get(apps, "sub", "flaky-deliveries") == 2  # one RETRY, one SUCCESS
    assert (
        json.loads(apps.request("POST", "/publish?topic=junk", b'{"junk": 1}')[2])["status"] == 204
    )
    assert wait_for(lambda: get(apps, "sub", "dropped") == 1)
    time.sleep(1.5)  # past every retry delay: a dropped event does not return
    assert get(apps, "sub", "dropped") == 1


def test_pubsub_routing_rules(apps):
    """A rule's CEL match picks the path (as daprd does); other events take the default route."""
    dropped, ticks = get(apps, "sub", "dropped"), get(apps, "sub", "ticks")
    assert (
        json.loads(apps.request("POST", "/publish?topic=routed", b'{"kind": "drop-me"}')[2])[
            "status"
        ]
        == 204
    )
    assert wait_for(lambda: get(apps, "sub", "dropped") == dropped + 1)
    assert (
        json.loads(apps.request("POST", "/publish?topic=routed", b'{"kind": "count-me"}')[2])[
            "status"
        ]
        == 204
    )
    assert wait_for(lambda: get(apps, "sub", "ticks") == ticks + 1)
    time.sleep(0.5)
    assert get(apps, "sub", "dropped") == dropped + 1 and get(apps, "sub", "ticks") == ticks + 1


def test_unsupported_rule_is_reported_and_skipped(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "sub.yaml").write_text(
        "app_id: sub\nlisten: 127.0.0.1:0\nfunctions:\n"
        + probe(["/drop", "/counter", "/get"])
        + "subscriptions:\n  - {pubsub: pubsub, topic: t, route: /counter, rules: [{match: 'size(event.data) > 1', path: /drop}]}\n"
    )
    a = Apps(
        tmp_path,
        ["sub"],
        main="sub",
        manifest_dir=str(d),
        env={"EDGECAR_STATE_FILE": str(tmp_path / "state.sqlite")},
    )
    try:
        assert wait_for(lambda: "cannot be evaluated in embedded mode" in a.log_path.read_text())
        line = [l for l in a.log_path.read_text().splitlines() if "cannot be evaluated" in l][0]
        assert (
            "size(event.data) > 1" in line
            and '"size" is not supported' in line
            and "skipped" in line
        )
    finally:
        a.stop()


def test_hot_reload_updates_subscriptions(tmp_path):
    """A manifest edit that adds a subscription reaches embedded Dapr's pub/sub."""
    d = tmp_path / "m"
    d.mkdir()
    (d / "pub.yaml").write_text(
        "app_id: pub\nlisten: 127.0.0.1:0\nfunctions:\n" + probe(["/publish", "/get"])
    )
    sub = "app_id: sub\nlisten: 127.0.0.1:0\nfunctions:\n" + probe(["/drop", "/get"])
    (d / "sub.yaml").write_text(sub)
    a = Apps(
        tmp_path,
        ["pub", "sub"],
        main="pub",
        manifest_dir=str(d),
        env={"EDGECAR_STATE_FILE": str(tmp_path / "s.sqlite")},
    )
    try:
        (tmp_path / "sub.yaml").write_text(
            (tmp_path / "sub.yaml").read_text()
            + "subscriptions:\n  - {pubsub: pubsub, topic: late, route: /drop}\n"
        )
        assert wait_for(lambda: "reloaded" in a.log_path.read_text(), timeout=10)
        a.request("POST", "/publish?topic=late", b"{}")
        assert wait_for(lambda: get(a, "sub", "dropped") == 1)
    finally:
        a.stop()


def test_hostile_guest_gets_error_codes():
    """Pointers outside guest memory, unknown or closed handles and too many open
    responses give error codes; the guest runs to its end and the host does not trap."""
    import subprocess
    from edgecar_server import BIN

    r = subprocess.run(
        [BIN, "run", f"{GUESTS}/dapr_abuse.wasm"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "DAPR_HTTP_PORT"},
    )
    assert r.returncode == 0, r.stderr
    got = dict(line.split("=") for line in r.stdout.split() if "=" in line)
    assert r.stdout.strip().endswith("end")
    for name in [
        "state_get_far_key",
        "state_get_len_wraps",
        "publish_far_data",
        "invoke_far_app",
        "status_unknown_handle",
        "status_negative_handle",
        "close_unknown_handle",
        "read_far_buffer",
        "header_far_name",
        "header_far_buffer",
        "close_twice",
        "status_after_close",
        "read_after_close",
    ]:
        assert got[name] == "-1", (name, got[name])
    assert (
        got["saved"] == "204"
        and got["valid_handle"] == "1"
        and got["close_once"] == "0"
        and got["header_absent"] == "-4"
    )
    assert (
        got["opened_before_limit"] == "64"
        and got["over_the_limit"] == "-2"
        and got["open_again"] == "1"
    )
    assert "an argument lies outside guest memory" in r.stderr


def test_drain_waits_for_a_delivery_in_progress(tmp_path):
    """SIGTERM while a subscriber is still handling an event: the server lets the
    delivery finish (and logs it) before it stops, and exits cleanly."""
    d = tmp_path / "m"
    d.mkdir()
    (d / "pub.yaml").write_text(
        "app_id: pub\nlisten: 127.0.0.1:0\nfunctions:\n" + probe(["/publish"])
    )
    (d / "slow.yaml").write_text(
        "app_id: slow\nlisten: 127.0.0.1:0\nfunctions:\n"
        f"  - route: /slow\n    module: {SERVE_GUESTS}/misbehave.wasm\n    env: {{MISBEHAVE: sleep}}\n"
        "subscriptions:\n  - {pubsub: pubsub, topic: slow, route: /slow}\n"
    )
    a = Apps(
        tmp_path,
        ["pub", "slow"],
        main="pub",
        manifest_dir=str(d),
        env={"EDGECAR_STATE_FILE": str(tmp_path / "state.sqlite")},
    )
    try:
        assert json.loads(a.request("POST", "/publish?topic=slow", b'{"n": 1}')[2])["status"] == 204
        time.sleep(0.15)  # the guest sleeps 500 ms: the delivery is under way
    finally:
        a.stop()
    assert a.proc.returncode == 0
    log = a.log_path.read_text()
    delivered = log.find('"target":"/slow"')
    assert delivered >= 0 and delivered < log.find("edgecar: stopped"), log[-2000:]

"""`edgecar serve` through real HTTP clients against the real binary."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import BIN, Server  # noqa: E402

GUESTS = os.path.abspath(os.environ.get("SERVE_GUEST_DIR", "build/tests/serve_guests"))


def manifest(functions, statics="", extra=""):
    return f"app_id: test\nlisten: 127.0.0.1:0\n{extra}functions:\n{functions}\n{statics}"


def fn(route, module, more=""):
    return f"  - route: {route}\n    module: {GUESTS}/{module}.wasm\n{more}"


@pytest.fixture
def server(tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<h1>edgecar</h1>")
    (tmp_path / "secret.txt").write_text("do not serve")
    text = manifest(
        fn("/hello", "hello", "    methods: [GET, POST]\n")
        + fn("/echo", "echo", "    limits: {max_body_bytes: 200000}\n")
        + fn("/inspect/*", "inspect", "    env: {APP_SETTING: on}\n")
        + fn("/misbehave", "misbehave", "    limits: {timeout_ms: 300, max_memory_mib: 8}\n"),
        statics=f"static:\n  - route: /\n    dir: {web}\n",
    )
    s = Server(tmp_path, text)
    yield s
    s.stop()


def test_hello_wagi(server):
    status, headers, body = server.request("GET", "/hello?name=x")
    assert status == 200
    assert headers["Content-Type"] == "text/plain"
    assert body == b"hello from edgecar, method=GET query=name=x\n"


def test_echo_binary_100kb(server):
    data = bytes((i * 7919) % 256 for i in range(100_000))
    status, headers, body = server.request(
        "POST", "/echo", body=data, headers={"Content-Type": "application/octet-stream"}
    )
    assert status == 200
    assert headers["X-Length"] == "100000"
    assert body == data


def test_cgi_environment_and_prefix_route(server):
    status, _, body = server.request(
        "POST",
        "/inspect/a/b?x=1",
        body=b"abc",
        headers={"X-Test": "yes", "Content-Type": "text/plain"},
    )
    assert status == 200
    text = body.decode()
    for line in [
        "REQUEST_METHOD=POST",
        "PATH_INFO=/inspect/a/b",
        "SCRIPT_NAME=/inspect/",
        "QUERY_STRING=x=1",
        "CONTENT_TYPE=text/plain",
        "CONTENT_LENGTH=3",
        "HTTP_X_TEST=yes",
        "APP_SETTING=on",
    ]:
        assert line in text.splitlines(), text


def test_every_request_gets_a_fresh_instance(server):
    for _ in range(20):
        status, _, body = server.request("GET", "/inspect/x")
        assert status == 200
        assert body.decode().splitlines()[0] == "counter=1 previous=(empty)"


def test_64_concurrent_clients(server):
    errors = []

    def client(i):
        try:
            c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            for j in range(10):  # keep-alive: one connection, many requests
                payload = f"client {i} request {j}".encode()
                c.request("POST", "/echo", body=payload)
                r = c.getresponse()
                got = r.read()
                if r.status != 200 or got != payload:
                    errors.append((i, j, r.status, got[:50]))
            c.close()
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_trap_gives_500_with_kind_and_backtrace(server):
    status, headers, body = server.request("GET", "/misbehave?trap")
    assert status == 500
    err = json.loads(body)
    assert err["error"] == "trap"
    assert err["message"] == "unreachable executed"
    # Innermost first, names from the guest's name section (main() is __original_main).
    assert err["backtrace"][0] == "__original_main" and "_start" in err["backtrace"], err
    assert server.request("GET", "/hello")[0] == 200


def test_timeout_gives_504(server):
    t0 = time.time()
    status, _, body = server.request("GET", "/misbehave?loop")
    assert status == 504
    assert json.loads(body)["error"] == "timeout"
    assert time.time() - t0 < 5
    assert server.request("GET", "/misbehave?fine")[0] == 200


def test_timeout_reaches_a_loop_closed_by_a_fused_branch(tmp_path):
    """Issue 16: (loop (br_if 0 (i32.eqz x))) held a worker forever despite timeout_ms."""
    s = Server(
        tmp_path,
        manifest(
            fn("/spin", "spin_eqz", "    limits: {timeout_ms: 200}\n") + fn("/hello", "hello"),
            extra="workers: 1\n",
        ),
    )
    try:
        t0 = time.time()
        status, _, body = s.request("GET", "/spin", timeout=10)
        assert status == 504 and json.loads(body)["error"] == "timeout"
        assert time.time() - t0 < 5
        assert s.request("GET", "/hello", timeout=5)[0] == 200  # the one worker is free again
    finally:
        s.stop()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def test_output_bombs_stop_at_the_response_limits(tmp_path):
    """Issue 16: a guest that wrote 1000 MiB to stdout was buffered whole (peak RSS ~2 GB);
    a handler set a million headers. Each now ends at its function's limits with 500
    response_too_large, the host's memory stays small, and the server keeps serving."""
    limits = (
        "    limits: {max_response_bytes: 1048576, max_response_headers: 50, max_memory_mib: 64}\n"
    )
    s = Server(
        tmp_path,
        manifest(
            fn("/misbehave", "misbehave", limits)
            + fn("/handler/*", "handler", limits + "    abi: handler\n")
            + fn("/hello", "hello")
        ),
    )
    try:
        for path in ["/misbehave?bomb", "/handler/x?big", "/handler/x?headers"]:
            t0 = time.time()
            status, _, body = s.request("GET", path, timeout=30)
            assert status == 500 and json.loads(body)["error"] == "response_too_large", (
                path,
                body[:300],
            )
            assert time.time() - t0 < 10, path
        status, _, body = s.request(
            "GET", "/misbehave?errbomb", timeout=30
        )  # stderr is cut, not fatal
        assert status == 500 and json.loads(body)["error"] == "exit"
        assert len(body) < 4096
        assert s.request("GET", "/hello")[0] == 200
        assert rss_kib(s.proc.pid) < 200 * 1024, rss_kib(s.proc.pid)  # peak, in KiB
    finally:
        s.stop()


def test_exit_code_and_cgi_status(server):
    status, _, body = server.request("GET", "/misbehave?exit")
    assert status == 500 and json.loads(body)["error"] == "exit"
    status, headers, body = server.request("GET", "/misbehave?status")
    assert status == 404 and body == b"missing\n"


def test_memory_cap_traps_cleanly(server):
    status, _, body = server.request("GET", "/misbehave?mem")
    assert status == 200
    n = int(body.split()[1])
    assert 0 < n < 8


def test_body_over_limit_is_413_before_the_guest_runs(server):
    status, _, body = server.request("POST", "/echo", body=b"x" * 300_000)
    assert status == 413
    assert json.loads(body)["error"] == "bad_request"
    _, _, metrics = server.request("GET", "/metrics")
    assert 'edgecar_requests_total{function="/echo",class="2xx"} 0' in metrics.decode()


def test_malformed_http(server):
    assert server.raw(b"NOT A REQUEST\r\n\r\n").startswith(b"HTTP/1.1 400")
    huge = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    assert server.raw(huge).startswith(b"HTTP/1.1 431")
    # Truncated body: the client promises 100 bytes, sends 10 and leaves.
    server.raw(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789", read=False
    )
    chunked = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    out = server.raw(chunked)
    assert out.startswith(b"HTTP/1.1 200") and out.endswith(b"hello world")
    assert server.request("GET", "/hello")[0] == 200


def test_mutated_requests_never_break_the_server(server):
    """Valid requests with bytes flipped, inserted or cut off, and plain garbage (seeded):
    each gets a well-formed answer or a closed connection, and the server keeps serving."""
    import random

    rng = random.Random(20261124)
    seen = {}
    seeds = [
        b"GET /hello?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"OPTIONS /hello HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
    ]
    for i in range(300):
        data = bytearray(rng.choice(seeds))
        kind = i % 4
        if kind == 0:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 1:
            pos = rng.randrange(len(data))
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif kind == 2:
            data = data[: rng.randrange(len(data))] + b"\r\n\r\n"
        else:
            data = bytearray(rng.randrange(256) for _ in range(rng.randint(1, 300)))
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            s.sendall(bytes(data))
            s.shutdown(socket.SHUT_WR)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        except ConnectionResetError:
            out = b""
        finally:
            s.close()
        assert out == b"" or out.startswith(b"HTTP/1.1 "), (bytes(data), out[:100])
        if out:
            assert int(out[9:12]) in (200, 204, 400, 404, 405, 413, 431), (bytes(data), out[:100])
        seen[out[9:12] if out else b"closed"] = seen.get(out[9:12] if out else b"closed", 0) + 1
    print("answers to mutated requests:", seen)
    assert seen.get(b"200") and seen.get(b"400")  # both kinds of input were exercised
    assert server.proc.poll() is None
    assert server.request("GET", "/hello")[0] == 200
    assert server.request("POST", "/echo", body=b"x" * 1000)[2] == b"x" * 1000


def test_pubsub_delivery_outcomes(tmp_path):
    """A CloudEvent POSTed to a subscription route gets Dapr's {"status": ...} answer (a
    trap is RETRY); another call to the same route gets the function's own response."""
    text = manifest(
        fn("/misbehave", "misbehave", "    limits: {timeout_ms: 300}\n") + fn("/echo", "echo"),
        statics="subscriptions:\n  - {pubsub: pubsub, topic: t, route: /misbehave}\n  - {pubsub: pubsub, topic: e, route: /echo}\n",
    )
    s = Server(tmp_path, text)
    try:
        ce = {"Content-Type": "application/cloudevents+json"}
        event = json.dumps(
            {"specversion": "1.0", "id": "1", "type": "t", "source": "x", "data": {}}
        ).encode()
        status, _, body = s.request("POST", "/misbehave?trap", body=event, headers=ce)
        assert status == 200 and json.loads(body)["status"] == "RETRY"
        status, _, body = s.request("POST", "/misbehave?loop", body=event, headers=ce)
        assert status == 200 and json.loads(body)["status"] == "RETRY"
        status, _, body = s.request("POST", "/echo", body=event, headers=ce)
        assert status == 200 and json.loads(body)["status"] == "SUCCESS"
        # Service invocation of the same routes: the function's answer, unchanged.
        status, _, body = s.request(
            "POST", "/misbehave?trap", body=b"{}", headers={"Content-Type": "application/json"}
        )
        assert status == 500 and json.loads(body)["error"] == "trap"
        assert (
            s.request("POST", "/echo", body=b"plain", headers={"Content-Type": "text/plain"})[2]
            == b"plain"
        )
    finally:
        s.stop()


def test_method_not_allowed_and_not_found(server):
    status, headers, _ = server.request("DELETE", "/hello")
    assert status == 405 and headers["Allow"] == "GET, POST"
    assert server.request("GET", "/nope")[0] == 404


def test_static_files_and_traversal(server):
    status, headers, body = server.request("GET", "/")
    assert (
        status == 200
        and body == b"<h1>edgecar</h1>"
        and headers["Content-Type"].startswith("text/html")
    )
    assert server.raw(
        b"GET /../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ).startswith(b"HTTP/1.1 404")
    assert server.raw(
        b"GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ).startswith(b"HTTP/1.1 404")


def responses(raw):
    """The status lines of the HTTP responses in raw bytes."""
    return [line for line in raw.split(b"\r\n") if line.startswith(b"HTTP/1.")]


@pytest.mark.parametrize(
    "framing, status",
    [
        (b"Transfer-Encoding: gzip\r\n", 400),
        (b"Transfer-Encoding: identity\r\n", 400),
        (b"Transfer-Encoding: chunked, identity\r\n", 400),
        (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", 400),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400),
        (b"Transfer-Encoding: gzip, chunked\r\n", 501),
    ],
)
def test_ambiguous_framing_is_refused_and_never_smuggles(server, framing, status):
    """RFC 9112 section 6.3: a Transfer-Encoding whose last coding is not chunked makes the
    body length unknowable; the bytes after the header must not be read as a second
    request (request smuggling). One error response, then the connection closes."""
    smuggled = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = server.raw(b"POST /echo HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n" + smuggled)
    assert responses(raw) and responses(raw)[0].startswith(b"HTTP/1.1 %d" % status), raw[:300]
    assert len(responses(raw)) == 1, raw
    assert server.request("GET", "/hello")[0] == 200


def test_http10_chunked_is_refused(server):
    raw = server.raw(
        b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    assert responses(raw) == [b"HTTP/1.1 400 Bad Request"], raw


def test_host_header_is_required_once_in_http11(server):
    assert responses(server.raw(b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"))[0].startswith(
        b"HTTP/1.1 400"
    )
    assert responses(
        server.raw(b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n")
    )[0].startswith(b"HTTP/1.1 400")
    assert responses(server.raw(b"GET /hello HTTP/1.0\r\n\r\n"))[0].startswith(b"HTTP/1.1 200")


def test_expect_100_continue_is_answered(server):
    """A client that waits for 100 Continue (curl, for bodies over 1 MB) gets it at once."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        s.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        s.settimeout(0.5)  # well under curl's one-second wait
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.settimeout(10)
        s.sendall(b"hello")
        data = b""
        while b"hello" not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        assert data.startswith(b"HTTP/1.1 200")
    finally:
        s.close()


def test_cgi_variables_cannot_be_spoofed(server):
    """RFC 3875 4.1.18 and httpoxy: one variable per header name, no HTTP_PROXY."""
    raw = server.raw(
        b"GET /inspect/x?env HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"X_Test: evil\r\nX-Test: good\r\nProxy: http://evil.example\r\n"
        b"X-Multi: a\r\nX-Multi: b\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"
    )
    env = [line[4:] for line in raw.decode().splitlines() if line.startswith("env:")]
    assert env, raw
    assert [v for v in env if v.startswith("HTTP_X_TEST=")] == ["HTTP_X_TEST=good"]
    assert not [v for v in env if v.startswith("HTTP_PROXY=")]
    assert [v for v in env if v.startswith("HTTP_X_MULTI=")] == ["HTTP_X_MULTI=a, b"]
    assert [v for v in env if v.startswith("HTTP_COOKIE=")] == ["HTTP_COOKIE=a=1; b=2"]


def test_static_files_do_not_follow_symlinks_out(tmp_path):
    """A symlink in a static directory (or one a guest made in a shared directory) must not
    serve files outside it; symlinks inside it still work."""
    web = tmp_path / "web"
    (web / "sub").mkdir(parents=True)
    (web / "sub" / "page.html").write_text("inside")
    (tmp_path / "secret.txt").write_text("do not serve")
    os.symlink(tmp_path / "secret.txt", web / "out.txt")
    os.symlink("../secret.txt", web / "sub" / "up.txt")
    os.symlink("sub/page.html", web / "in.html")
    s = Server(
        tmp_path,
        manifest(fn("/hello", "hello"), statics=f"static:\n  - route: /\n    dir: {web}\n"),
    )
    try:
        assert s.request("GET", "/out.txt")[0] == 404
        assert s.request("GET", "/sub/up.txt")[0] == 404
        assert s.request("GET", "/sub/%2e%2e/%2e%2e/secret.txt")[0] == 404
        status, _, body = s.request("GET", "/in.html")
        assert status == 200 and body == b"inside"
        status, _, body = s.request("GET", "/sub/page%2Ehtml")  # escapes are decoded
        assert status == 200 and body == b"inside"
    finally:
        s.stop()


def test_cors(server):
    status, headers, _ = server.request(
        "OPTIONS",
        "/echo",
        headers={"Origin": "http://ui.example", "Access-Control-Request-Method": "POST"},
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "http://ui.example"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    _, headers, _ = server.request("GET", "/hello", headers={"Origin": "http://ui.example"})
    assert headers["Access-Control-Allow-Origin"] == "http://ui.example"


def test_health_metrics_and_access_log(server):
    assert server.request("GET", "/healthz")[:1] == (200,)
    server.request("GET", "/misbehave?trap")
    server.request("GET", "/misbehave?loop")
    text = server.request("GET", "/metrics")[2].decode()
    assert 'edgecar_traps_total{function="/misbehave"} 1' in text
    assert 'edgecar_timeouts_total{function="/misbehave"} 1' in text
    assert 'edgecar_request_duration_seconds_count{function="/misbehave"} 2' in text
    server.request("GET", '/hello?q="quoted"\\back')
    # The access log is written in batches (every 50 ms): wait for the lines.
    deadline = time.time() + 5
    while True:
        log = [
            json.loads(line)
            for line in server.log_path.read_text().splitlines()
            if line.startswith("{")
        ]
        if any(e["target"] == '/hello?q="quoted"\\back' for e in log) or time.time() > deadline:
            break
        time.sleep(0.05)
    assert any(
        e["target"] == "/misbehave?trap" and e["status"] == 500 and e["function"] == "/misbehave"
        for e in log
    )
    assert any(e["target"] == '/hello?q="quoted"\\back' and e["status"] == 200 for e in log)


def test_graceful_drain_finishes_in_flight_requests(tmp_path):
    s = Server(tmp_path, manifest(fn("/misbehave", "misbehave")))
    result = {}

    def slow():
        result["r"] = s.request("GET", "/misbehave?sleep")

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.15)
    s.proc.send_signal(signal.SIGTERM)
    t.join()
    assert result["r"][0] == 200 and result["r"][2] == b"fine\n"
    assert s.proc.wait(10) == 0
    s.log.close()


@pytest.mark.parametrize(
    "text,needle",
    [
        (
            "app_id: x\nfunctions:\n  - route: /a\n    modul: a.wasm\n",
            'edgecar.yaml:4: unknown key "modul"',
        ),
        (
            "app_id: x\nfunctions:\n  - route: a\n    module: a.wasm\n",
            "edgecar.yaml:3: functions[0].route must start with '/'",
        ),
        (
            "app_id: x\nfunctions:\n  - route: /a\n    module: missing.wasm\n",
            "edgecar.yaml:4: functions[0].module: no such file",
        ),
        ("app_id: x\nfunctions: [\n", "edgecar.yaml:"),
        ("functions: []\n", "app_id is required"),
    ],
)
def test_manifest_errors(tmp_path, text, needle):
    (tmp_path / "edgecar.yaml").write_text(text)
    r = subprocess.run(
        [BIN, "serve", str(tmp_path / "edgecar.yaml")], capture_output=True, text=True, timeout=10
    )
    assert r.returncode == 1
    assert needle in r.stderr, r.stderr


def test_check_loads_modules(tmp_path):
    (tmp_path / "bad.wasm").write_bytes(b"\0asm\1\0\0\0\1")
    (tmp_path / "edgecar.yaml").write_text(
        manifest(fn("/a", "hello") + f"  - route: /b\n    module: {tmp_path}/bad.wasm\n")
    )
    r = subprocess.run(
        [BIN, "serve", "--check", str(tmp_path / "edgecar.yaml")],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode == 1 and "function /b" in r.stderr and "malformed" in r.stderr, r.stderr
    (tmp_path / "edgecar.yaml").write_text(manifest(fn("/a", "hello")))
    r = subprocess.run(
        [BIN, "serve", "--check", str(tmp_path / "edgecar.yaml")],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode == 0 and "ok" in r.stdout


def test_check_names_rules_only_daprd_can_evaluate(tmp_path):
    subs = (
        "subscriptions:\n  - {pubsub: p, topic: t, route: /a, rules: [{match: 'event.type == \"x\"', path: /a},"
        " {match: 'size(event.data) > 2', path: /a}]}\n"
    )
    (tmp_path / "edgecar.yaml").write_text(manifest(fn("/a", "hello"), statics=subs))
    r = subprocess.run(
        [BIN, "serve", "--check", str(tmp_path / "edgecar.yaml")],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr
    notes = [line for line in r.stdout.splitlines() if "note:" in line]
    assert (
        len(notes) == 1
        and "size(event.data) > 2" in notes[0]
        and "daprd only" in notes[0]
        and '"size" is not supported' in notes[0]
    )
    assert notes[0].startswith(f"{tmp_path / 'edgecar.yaml'}:")


@pytest.fixture
def handler_server(tmp_path):
    s = Server(tmp_path, manifest(fn("/handler/*", "handler", "    abi: handler\n")))
    yield s
    s.stop()


def test_handler_abi(handler_server):
    for _ in range(3):
        status, headers, body = handler_server.request(
            "GET", "/handler/hi", headers={"X-Test": "abc"}
        )
        assert status == 200
        assert headers["X-Handler"] == "yes" and headers["Content-Type"] == "text/plain"
        assert body == b"hello from a handler: GET /handler/hi calls=1 x-test=abc (3)\n"
    assert handler_server.request("GET", "/handler/missing")[0] == 404


def test_handler_echo_binary(handler_server):
    data = bytes(range(256)) * 400
    status, headers, body = handler_server.request("POST", "/handler/echo", body=data)
    assert status == 200 and body == data


def test_handler_failures_are_500(handler_server):
    status, _, body = handler_server.request("GET", "/handler/x?badstatus")
    assert status == 500 and json.loads(body)["error"] == "handler"
    status, _, body = handler_server.request("GET", "/handler/x?badptr")
    assert status == 500 and "out of bounds" in json.loads(body)["message"]
    status, _, body = handler_server.request("GET", "/handler/x?trap")
    assert status == 500 and json.loads(body)["error"] == "trap"
    assert handler_server.request("GET", "/handler/ok")[0] == 200


def test_handler_exports_are_checked(tmp_path):
    (tmp_path / "edgecar.yaml").write_text(manifest(fn("/h", "hello", "    abi: handler\n")))
    r = subprocess.run(
        [BIN, "serve", "--check", str(tmp_path / "edgecar.yaml")],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode == 1 and "must export edgecar_handle" in r.stderr, r.stderr


def wait_for(predicate, seconds=8):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_hot_reload_good_broken_and_manifest(tmp_path):
    import shutil

    module = tmp_path / "fn.wasm"
    shutil.copy(f"{GUESTS}/hello.wasm", module)
    text = (
        f"app_id: reload\nlisten: 127.0.0.1:0\nfunctions:\n  - route: /fn\n    module: {module}\n"
    )
    s = Server(tmp_path, text)
    try:
        assert s.request("GET", "/fn")[2].startswith(b"hello from edgecar")
        errors, stop = [], threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    st, _, body = s.request("POST", "/fn", body=b"ping")
                    if st != 200 or not (body.startswith(b"hello") or body == b"ping"):
                        errors.append((st, body[:40]))
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))

        t = threading.Thread(target=hammer)
        t.start()
        # A good new version: swapped in without dropping a request.
        tmp = tmp_path / "fn.tmp"
        shutil.copy(f"{GUESTS}/echo.wasm", tmp)
        os.replace(tmp, module)
        assert wait_for(lambda: s.request("POST", "/fn", body=b"ping")[2] == b"ping")
        stop.set()
        t.join()
        assert errors == []
        # A broken version: rejected with the file and the reason; the old one serves on.
        module.write_bytes(b"\0asm\1\0\0\0\x05\x02")
        assert wait_for(lambda: "reload rejected" in s.log_path.read_text())
        log = s.log_path.read_text()
        assert str(module) in log and "unexpected end" in log, log
        assert s.request("POST", "/fn", body=b"still")[2] == b"still"
        # A manifest edit: a new route appears.
        shutil.copy(f"{GUESTS}/hello.wasm", module)
        (tmp_path / "edgecar.yaml").write_text(
            text + f"  - route: /second\n    module: {GUESTS}/hello.wasm\n"
        )
        assert wait_for(lambda: s.request("GET", "/second")[0] == 200)
        assert s.request("GET", "/fn")[2].startswith(b"hello from edgecar")
    finally:
        s.stop()


def test_a_missing_module_is_reported_once(tmp_path):
    """Issue 16: a module file that vanished was reported every second while missing."""
    import shutil

    module = tmp_path / "fn.wasm"
    shutil.copy(f"{GUESTS}/hello.wasm", module)
    s = Server(
        tmp_path,
        f"app_id: gone\nlisten: 127.0.0.1:0\nfunctions:\n  - route: /fn\n    module: {module}\n",
    )
    try:
        module.unlink()
        assert wait_for(lambda: "reload rejected" in s.log_path.read_text())
        time.sleep(3.5)  # three more checks
        assert s.log_path.read_text().count("reload rejected") == 1
        assert s.request("GET", "/fn")[0] == 200  # the loaded version serves on
        shutil.copy(f"{GUESTS}/echo.wasm", module)  # back: loaded again
        assert wait_for(lambda: s.request("POST", "/fn", body=b"x")[2] == b"x")
    finally:
        s.stop()


def test_rust_handler_sdk(tmp_path):
    s = Server(tmp_path, manifest(fn("/rs/*", "handler_rs", "    abi: handler\n")))
    try:
        status, headers, body = s.request("GET", "/rs/hi?x=1", headers={"X-Test": "t"})
        assert status == 200 and headers["Content-Type"] == "text/plain"
        assert body == b"hello from Rust: GET /rs/hi?x=1 x-test=t\n"
        data = bytes(range(256)) * 100
        assert s.request("POST", "/rs/echo", body=data)[2] == data
        assert s.request("POST", "/rs/empty", body=b"")[0] == 200
    finally:
        s.stop()


def slow_echo_client(port):
    """A client that posts 8 MB to /echo and does not read: its response stays stuck."""
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", port))
    body = b"z" * 8_000_000
    slow.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    return slow, body


def test_a_client_that_does_not_read_is_dropped_at_the_write_timeout(tmp_path):
    """Issue 16: a client that never reads pinned its response's memory for as long as it
    liked. Past write_timeout_ms its connection is closed."""
    s = Server(
        tmp_path,
        manifest(
            fn("/echo", "echo", "    limits: {max_body_bytes: 16000000}\n"),
            extra="write_timeout_ms: 500\n",
        ),
    )
    try:
        slow, body = slow_echo_client(s.port)

        def open_connections():
            text = s.request("GET", "/metrics")[2].decode()
            return int(
                next(
                    line.split()[1]
                    for line in text.splitlines()
                    if line.startswith("edgecar_open_connections ")
                )
            )

        assert open_connections() == 2  # the slow client and this request
        deadline = time.time() + 5
        while open_connections() != 1 and time.time() < deadline:
            time.sleep(0.1)
        assert open_connections() == 1
        slow.close()
    finally:
        s.stop()


def metric(s, name):
    text = s.request("GET", "/metrics")[2].decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def test_a_full_queue_answers_503_and_readiness_says_so(tmp_path):
    """Issue 16: with every worker busy the queue grew without bound and every route
    waited. max_queued bounds it: past it, 503 with Retry-After at once, and /readyz
    reports saturation (for Kubernetes and daprd's health checks)."""
    s = Server(
        tmp_path,
        manifest(
            fn("/misbehave", "misbehave", "    limits: {timeout_ms: 1500}\n"),
            extra="workers: 1\nmax_queued: 2\n",
        ),
    )
    try:
        assert s.request("GET", "/readyz")[0] == 200
        busy = [
            threading.Thread(target=s.request, args=("GET", "/misbehave?loop")) for _ in range(3)
        ]
        for t in busy:
            t.start()
            time.sleep(0.1)  # one runs, two wait
        t0 = time.time()
        status, headers, body = s.request("GET", "/misbehave?fine")
        assert (
            status == 503
            and headers["Retry-After"] == "1"
            and json.loads(body)["error"] == "overloaded"
        )
        assert time.time() - t0 < 0.5
        status, _, body = s.request("GET", "/readyz")
        assert (
            status == 503
            and json.loads(body)["status"] == "saturated"
            and json.loads(body)["queued"] == 2
        )
        assert s.request("GET", "/healthz")[0] == 200  # alive all the same
        for t in busy:
            t.join()
        assert s.request("GET", "/readyz")[0] == 200
        assert metric(s, "edgecar_rejected_total") == 1
    finally:
        s.stop()


def test_max_concurrent_keeps_a_function_from_taking_every_worker(tmp_path):
    """Per function: a spinning function capped at one request cannot take both workers
    from a well-behaved one; its excess gets 503 at once."""
    s = Server(
        tmp_path,
        manifest(
            fn("/misbehave", "misbehave", "    limits: {timeout_ms: 1000, max_concurrent: 1}\n")
            + fn("/hello", "hello"),
            extra="workers: 2\n",
        ),
    )
    try:
        spin = threading.Thread(target=s.request, args=("GET", "/misbehave?loop"))
        spin.start()
        time.sleep(0.2)
        status, headers, body = s.request("GET", "/misbehave?loop")
        assert (
            status == 503
            and "max_concurrent" in json.loads(body)["message"]
            and headers["Retry-After"] == "1"
        )
        t0 = time.time()
        assert s.request("GET", "/hello")[0] == 200 and time.time() - t0 < 0.5
        spin.join()
        assert s.request("GET", "/misbehave?fine")[0] == 200  # the slot is free again
    finally:
        s.stop()


def test_queued_requests_of_clients_that_left_are_not_run(tmp_path):
    """Issue 16: requests whose clients disconnected still took worker time. Queued ones
    are dropped (logged as 499) when a worker reaches them."""
    s = Server(
        tmp_path,
        manifest(
            fn("/misbehave", "misbehave", "    limits: {timeout_ms: 1000}\n")
            + fn("/hello", "hello"),
            extra="workers: 1\n",
        ),
    )
    try:
        running = threading.Thread(target=s.request, args=("GET", "/misbehave?loop"))
        running.start()
        time.sleep(0.2)
        for _ in range(3):  # queued behind it, then gone
            c = socket.create_connection(("127.0.0.1", s.port))
            c.sendall(b"GET /misbehave?loop HTTP/1.1\r\nHost: x\r\n\r\n")
            c.close()
        time.sleep(0.1)
        t0 = time.time()
        assert s.request("GET", "/hello", timeout=10)[0] == 200
        assert time.time() - t0 < 2.5  # not 1 s more for each abandoned request
        running.join()
        assert metric(s, "edgecar_abandoned_total") == 3
        assert metric(s, 'edgecar_timeouts_total{function="/misbehave"}') == 1
    finally:
        s.stop()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_descriptors_the_server_backs_off_and_recovers(tmp_path):
    """Issue 16: at the descriptor limit the accept loop spun at 100% CPU. It now waits
    and retries (saying so once a second), and serves again once descriptors free up."""
    import resource

    def few_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    # The interpreter only: with the default engine (auto) the background native compiler's
    # CPU time would be counted as the accept loop's.
    s = Server(
        tmp_path,
        manifest(fn("/hello", "hello", "    engine: interp\n"), extra="max_connections: 1000\n"),
        preexec_fn=few_fds,
    )
    clients = []
    try:
        for _ in range(60):
            c = socket.socket()
            c.connect(("127.0.0.1", s.port))  # the kernel's backlog takes what edgecar cannot
            clients.append(c)
        time.sleep(0.3)
        before = cpu_seconds(s.proc.pid)
        time.sleep(1.0)
        assert cpu_seconds(s.proc.pid) - before < 0.3  # not spinning
        for c in clients:
            c.close()
        clients = []
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                if s.request("GET", "/hello", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("not serving again: " + s.log_path.read_text()[-500:])
        warnings = s.log_path.read_text().count("cannot accept connections")
        assert 1 <= warnings <= 5, warnings
    finally:
        for c in clients:
            c.close()
        s.stop()


def test_at_max_connections_idle_ones_make_room(tmp_path):
    s = Server(tmp_path, manifest(fn("/hello", "hello"), extra="max_connections: 4\n"))
    idle = []
    try:
        for _ in range(4):  # four keep-alive connections, idle after one request each
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
            c.request("GET", "/hello")
            assert c.getresponse().read()
            idle.append(c)
        assert s.request("GET", "/hello")[0] == 200  # one of them was closed for it
    finally:
        for c in idle:
            c.close()
        s.stop()


def test_a_running_guest_whose_client_left_is_stopped(tmp_path):
    """Issue 16: a guest kept running (and holding its worker) after its client had gone."""
    s = Server(
        tmp_path,
        manifest(
            fn("/misbehave", "misbehave", "    limits: {timeout_ms: 10000}\n")
            + fn("/hello", "hello"),
            extra="workers: 1\n",
        ),
    )
    try:
        c = socket.create_connection(("127.0.0.1", s.port))
        c.sendall(b"GET /misbehave?loop HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)  # it runs
        c.close()
        t0 = time.time()
        assert s.request("GET", "/hello", timeout=15)[0] == 200
        assert time.time() - t0 < 1.5  # not the 10 s of its timeout
        assert metric(s, "edgecar_abandoned_total") == 1
        assert metric(s, 'edgecar_timeouts_total{function="/misbehave"}') == 0
    finally:
        s.stop()


def test_slow_reader_never_holds_a_worker(tmp_path):
    """A client that does not read its (large) response must not keep the only worker:
    the worker hands the unsent rest to the network thread and serves the next request."""
    s = Server(
        tmp_path,
        manifest(
            fn("/echo", "echo", "    limits: {max_body_bytes: 16000000}\n") + fn("/hello", "hello"),
            extra="workers: 1\n",
        ),
    )
    try:
        slow, body = slow_echo_client(s.port)
        time.sleep(0.5)  # the echo has run; its response is stuck in the socket
        start = time.time()
        status, _, text = s.request("GET", "/hello", timeout=5)
        assert status == 200 and time.time() - start < 2
        # The slow client still gets its whole response once it reads.
        got = b""
        slow.settimeout(10)
        while len(got) < len(body):
            chunk = slow.recv(1 << 20)
            if not chunk:
                break
            got += chunk
        assert got.endswith(body[-1000:]) and b"200 OK" in got[:100]
        slow.close()
    finally:
        s.stop()


# ---- tiers (issue 15): engine auto | interp | aot per function ----


def runs(s, function):
    """(interpreted, native) instances run by a function, from /metrics."""
    text = s.request("GET", "/metrics")[2].decode()

    def count(engine):
        m = re.search(
            r'edgecar_runs_total\{function="%s",engine="%s"\} (\d+)'
            % (re.escape(function), engine),
            text,
        )
        return int(m.group(1)) if m else 0

    return count("interp"), count("native")


def test_engine_auto_serves_at_once_then_switches_to_native_code(tmp_path):
    # No engine key: auto. The first requests run in the interpreter while the module
    # compiles in the background (about a second for this guest); later ones natively.
    s = Server(tmp_path, manifest(fn("/hello", "hello")))
    try:
        answers = set()
        deadline = time.time() + 120
        while True:
            status, _, body = s.request("GET", "/hello?x=1")
            assert status == 200, body
            answers.add(body)
            interp, native = runs(s, "/hello")
            if native >= 5 or time.time() > deadline:
                break
            time.sleep(0.02)
        assert interp >= 1 and native >= 5, (interp, native, s.log_path.read_text())
        assert answers == {b"hello from edgecar, method=GET query=x=1\n"}
        assert "function /hello: native code ready after" in s.log_path.read_text()
    finally:
        s.stop()


def test_engine_aot_is_native_from_the_first_request_and_traps_and_times_out_alike(tmp_path):
    s = Server(
        tmp_path,
        manifest(
            fn("/hello", "hello", "    engine: native\n")
            + fn(
                "/misbehave",
                "misbehave",
                "    engine: native\n    limits: {timeout_ms: 300, max_memory_mib: 8}\n",
            )
        ),
    )
    try:
        assert s.request("GET", "/hello?y")[2] == b"hello from edgecar, method=GET query=y\n"
        assert runs(s, "/hello") == (0, 1)
        status, _, body = s.request("GET", "/misbehave?trap")
        err = json.loads(body)
        assert status == 500 and err["message"] == "unreachable executed"
        assert err["backtrace"][0] == "__original_main" and "_start" in err["backtrace"], err
        t0 = time.time()
        status, _, body = s.request("GET", "/misbehave?loop")
        assert status == 504 and json.loads(body)["error"] == "timeout"
        assert time.time() - t0 < 5
        status, _, body = s.request("GET", "/misbehave?mem")
        assert status == 200 and 0 < int(body.split()[1]) < 8
        assert s.request("GET", "/misbehave?fine")[0] == 200
        assert runs(s, "/misbehave") == (0, 4)
    finally:
        s.stop()


def test_engine_interp_never_compiles(tmp_path):
    s = Server(tmp_path, manifest(fn("/hello", "hello", "    engine: interp\n")))
    try:
        for _ in range(3):
            assert s.request("GET", "/hello")[0] == 200
            time.sleep(0.5)
        assert runs(s, "/hello") == (3, 0)
        assert "native code" not in s.log_path.read_text()
    finally:
        s.stop()


def test_simd_guests_run_natively(tmp_path):
    s = Server(tmp_path, manifest(fn("/simd", "simd_hello", "    engine: native\n")))
    try:
        assert s.request("GET", "/simd")[2] == b"simd hello\n"
        assert runs(s, "/simd") == (0, 1)
    finally:
        s.stop()


def test_a_module_too_large_to_compile_stays_interpreted(tmp_path, monkeypatch):
    # Native compilation is bounded (EDGECAR_AOT_MAX_INSTRUCTIONS, default 1,000,000):
    # engine auto keeps serving from the interpreter and says why; engine native refuses it
    # (here under its former name, aot, which manifests may still use).
    monkeypatch.setenv("EDGECAR_AOT_MAX_INSTRUCTIONS", "1000")
    s = Server(tmp_path, manifest(fn("/hello", "hello")))
    try:
        deadline = time.time() + 60
        while "stays interpreted" not in s.log_path.read_text() and time.time() < deadline:
            time.sleep(0.05)
        assert (
            "function /hello stays interpreted: the module is too large to compile natively"
            in s.log_path.read_text()
        )
        assert s.request("GET", "/hello")[0] == 200
        assert runs(s, "/hello") == (1, 0)
    finally:
        s.stop()
    (tmp_path / "edgecar.yaml").write_text(manifest(fn("/hello", "hello", "    engine: aot\n")))
    r = subprocess.run(
        [BIN, "serve", "--check", str(tmp_path / "edgecar.yaml")],
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ, EDGECAR_AOT_CACHE=str(tmp_path / "cache")),
    )
    assert (
        r.returncode == 1
        and "function /hello" in r.stderr
        and "too large to compile natively" in r.stderr
    ), r.stderr


def test_engine_must_be_known(tmp_path):
    (tmp_path / "edgecar.yaml").write_text(manifest(fn("/a", "hello", "    engine: jit\n")))
    r = subprocess.run(
        [BIN, "serve", "--check", str(tmp_path / "edgecar.yaml")],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode == 1 and "is not one of auto, interp, native" in r.stderr, r.stderr


def test_a_cached_compilation_makes_the_next_start_native_at_once(tmp_path):
    cache = tmp_path / "shared-cache"
    text = manifest(fn("/hello", "hello"))
    s = Server(tmp_path, text, aot_cache=cache)
    try:
        deadline = time.time() + 120
        while "native code ready" not in s.log_path.read_text() and time.time() < deadline:
            time.sleep(0.05)
        assert "native code ready" in s.log_path.read_text()
    finally:
        s.stop()
    assert len(list(cache.glob("*.aot"))) == 1
    s = Server(tmp_path, text, aot_cache=cache)
    try:
        assert s.request("GET", "/hello?z")[2] == b"hello from edgecar, method=GET query=z\n"
        assert runs(s, "/hello") == (0, 1)
        assert "function /hello: native code (cache entry" in s.log_path.read_text()
    finally:
        s.stop()


def test_gc_guest_heap_is_per_request_and_bounded(tmp_path):
    """A WebAssembly GC guest (Kotlin/Wasm, tests/gc/kotlin/Wagi.kt): each request's objects
    live in its own instance's heap, counted against the function's max_memory_mib, and
    go with it; a request that needs more than its limit gets a clear 500 and the server
    goes on serving."""
    guest = os.path.join(GUESTS, "kotlin_wagi.wasm")
    assert os.path.exists(guest), "no Kotlin/Wasm guest: run scripts/setup and build"
    text = manifest(
        fn("/gc", "kotlin_wagi", "    limits: {max_memory_mib: 256}\n")
        + fn("/gc_small", "kotlin_wagi", "    limits: {max_memory_mib: 16}\n")
    )
    s = Server(tmp_path, text)
    try:
        expected = b"sum %d\n" % (500_000 * 500_001 // 2)

        def rss_kib():
            with open(f"/proc/{s.proc.pid}/status") as f:
                return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])

        for _ in range(5):
            status, headers, body = s.request("GET", "/gc")
            assert status == 200 and body == expected, body
        after_5 = rss_kib()
        status, _, body = s.request("GET", "/gc_small")
        assert status == 500
        err = json.loads(body)
        assert err["error"] == "trap" and "out of memory" in err["message"], err
        for _ in range(20):
            status, _, body = s.request("GET", "/gc")
            assert status == 200 and body == expected
        # Twenty more heaps of ~30 MB each came and went: the process did not keep them.
        assert rss_kib() < after_5 + 64 * 1024, (after_5, rss_kib())
    finally:
        s.stop()

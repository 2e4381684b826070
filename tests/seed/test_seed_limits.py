"""A networked guest at its limits: the seed repository's image-api-grayscale (hyper on
tokio_wasi, port 9005 compiled in; `GET /` needs no Dapr) with more connections than its
socket limit (--max-sockets), and with the host process out of descriptors (prlimit).
Either way the excess connections wait or fail, and once they are gone the server
answers again: nothing crashes, nothing stays stuck."""
import os
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import BIN, stop_processes, wait_for  # noqa: E402
from test_seed_services import SEED, http_call, port_free  # noqa: E402

MODULE = os.path.join(SEED, "wasm", "image-api-grayscale.wasm")


def start(tmp_path, prefix=(), extra=()):
    if not os.path.exists(MODULE):
        pytest.fail(f"needs {MODULE} (the seed services; set SEED_DIR or EDGECAR_SHARED_DIR)")
    if not port_free(9005):
        pytest.fail("port 9005 (compiled into the service) is taken")
    log = open(tmp_path / "server.log", "w")
    p = subprocess.Popen([*prefix, BIN, "run", "--allow-listen", "9005", *extra, MODULE], stdout=log, stderr=subprocess.STDOUT,
                         env=dict(os.environ, EDGECAR_AOT_CACHE=str(tmp_path / "aot")))
    procs = [("grayscale", p, log)]
    wait_for(lambda: http_call(9005, "GET", "/", timeout=2)[0] == 200, what="the service", timeout=60)
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

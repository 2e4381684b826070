"""WasmEdge's socket extension under `edgecar run`: network grants (denied by default,
each denial an errno and a log line, never a packet), malformed arguments answered with
errnos, the socket limit, TCP and UDP traffic, and a clean stop of a guest blocked in
accept on SIGTERM. The guest is tests/wasi/guests/net.c (one operation per argument)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import BIN, Server  # noqa: E402

GUESTS = os.path.abspath(os.environ.get("WASI_GUEST_DIR", "build/tests/guests"))
NET = os.path.join(GUESTS, "net.wasm")

# WASI errno values.
ACCES, AFNOSUPPORT, BADF, CONNREFUSED, FAULT, INVAL, MFILE, NOTSOCK = 2, 5, 8, 14, 21, 28, 33, 57


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, grants=()):
    p = subprocess.run(
        [BIN, "run", *grants, NET, *map(str, args)], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout.splitlines(), p.stderr


def errnos(lines):
    return [int(line.split()[1]) for line in lines]


class Echo:
    """A TCP echo server on the host, counting the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with c:
                c.sendall(c.recv(64))

    def close(self):
        self.sock.close()


def test_nothing_is_granted_by_default():
    echo = Echo()
    try:
        lines, err = run(
            "bind", "127.0.0.1", 0, "connect", "127.0.0.1", echo.port, "lookup", "localhost"
        )
        assert errnos(lines) == [ACCES, ACCES, ACCES]
        assert echo.accepted == 0
        assert "denied opening a socket (no network granted)" in err
        assert 'denied looking up "localhost"' in err
    finally:
        echo.close()


def test_each_grant_allows_only_what_it_names():
    echo = Echo()
    listen, other = free_port(), free_port()
    grants = [
        "--allow-listen",
        f"127.0.0.1:{listen}",
        "--allow-connect",
        f"127.0.0.1:{echo.port}",
        "--allow-lookup",
        "localhost",
    ]
    try:
        lines, err = run(
            "bind",
            "127.0.0.1",
            listen,  # granted
            "bind",
            "0.0.0.0",
            listen,  # another address
            "bind",
            "127.0.0.1",
            other,  # another port
            "bind6",
            listen,  # another family
            "connect",
            "127.0.0.1",
            echo.port,  # granted
            "connect",
            "10.1.2.3",
            80,  # not granted
            "connect",
            "127.0.0.1",
            other,  # granted address, other port
            "lookup",
            "localhost",  # granted
            "lookup",
            "example.invalid",  # not granted
            "lookup",
            "127.0.0.1",  # numeric: no name service, no grant needed
            grants=grants,
        )
        assert errnos(lines) == [0, ACCES, ACCES, ACCES, 0, ACCES, ACCES, 0, ACCES, 0], lines
        assert lines[7].split()[2] == "127.0.0.1:80"
        assert echo.accepted == 1
        for denied in (
            f"listening on 0.0.0.0:{listen}",
            f"listening on 127.0.0.1:{other}",
            f"listening on [::]:{listen}",
            "connecting to 10.1.2.3:80",
            f"connecting to 127.0.0.1:{other}",
            'looking up "example.invalid"',
        ):
            assert "denied " + denied in err, err
    finally:
        echo.close()


def test_ranges_prefixes_and_inherit_network():
    echo = Echo()
    refused = free_port()
    try:
        lines, _ = run(
            "connect",
            "127.0.0.1",
            echo.port,
            "connect",
            "127.0.0.1",
            refused,
            grants=["--allow-connect", "127.0.0.0/8"],
        )
        # A granted connection reaches the host's network: a closed port refuses it.
        assert errnos(lines) == [0, CONNREFUSED]
        lines, _ = run(
            "connect", "127.0.0.1", echo.port, "lookup", "localhost", grants=["--inherit-network"]
        )
        assert errnos(lines) == [0, 0]
        bad = subprocess.run(
            [BIN, "run", "--allow-connect", "300.1.1.1:80", NET], capture_output=True, text=True
        )
        assert bad.returncode == 2 and 'network rule "300.1.1.1:80": bad IPv4 address' in bad.stderr
    finally:
        echo.close()


def test_a_redirect_sends_a_compiled_in_address_elsewhere_and_grants_only_it():
    """--redirect-connect FROM=TO: how a module with Dapr's port compiled in (the seed
    services' 3503) reaches a sidecar on another port (Kubernetes' 3500)."""
    echo = Echo()
    compiled_in, other = free_port(), free_port()
    try:
        lines, err = run(
            "echo",
            "127.0.0.1",
            compiled_in,  # redirected to the echo server
            "connect",
            "127.0.0.1",
            other,  # not granted: the redirect grants FROM alone
            "connect",
            "127.0.0.1",
            echo.port,  # nor the target itself
            grants=["--redirect-connect", f"127.0.0.1:{compiled_in}=127.0.0.1:{echo.port}"],
        )
        assert lines[0].startswith("echo 0 ping"), lines
        assert errnos(lines[1:]) == [ACCES, ACCES], lines
        assert echo.accepted == 1 and f"denied connecting to 127.0.0.1:{echo.port}" in err
        for bad, why in [
            ("127.0.0.1:1", "no ="),
            ("127.0.0.0/8:1=127.0.0.1:2", "one address and one port"),
            ("127.0.0.1:1=[::1]:2", "both sides must be IPv4 or both IPv6"),
        ]:
            p = subprocess.run(
                [BIN, "run", "--redirect-connect", bad, NET], capture_output=True, text=True
            )
            assert p.returncode == 2 and why in p.stderr, p.stderr
    finally:
        echo.close()


def test_sends_held_together_leave_when_the_guest_waits():
    """sock_send holds a TCP send back (MSG_MORE) so a head and a body leave as one
    segment; a guest that then waits (here a 3 s sleep in poll_oneoff) must not hold them."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    got = {}

    def serve():
        c, _ = server.accept()
        with c:
            data = b""
            while len(data) < 5:
                data += c.recv(16)
            got["data"], got["at"] = data, time.monotonic()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    port = server.getsockname()[1]
    p = subprocess.Popen(
        [
            BIN,
            "run",
            "--allow-connect",
            f"127.0.0.1:{port}",
            NET,
            "sendsleep",
            "127.0.0.1",
            str(port),
            "3000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout.readline() == "sent 0\n"
        sent = time.monotonic()
        t.join(5)
        assert got["data"] == b"hello"
        # Within milliseconds; Linux itself lets held data go after about 200 ms.
        assert got["at"] - sent < 0.1, got["at"] - sent
        assert p.wait(10) == 0
    finally:
        p.kill()
        server.close()


def test_traffic_tcp_and_udp():
    echo = Echo()
    udp = free_port()
    try:
        lines, _ = run(
            "echo",
            "127.0.0.1",
            echo.port,
            "udp",
            udp,
            grants=[
                "--allow-connect",
                f"127.0.0.1:{echo.port}",
                "--allow-listen",
                f"127.0.0.1:{udp}",
                "--allow-connect",
                f"127.0.0.1:{udp}",
            ],
        )
        assert lines[0] == "echo 0 ping local=127.0.0.1 type=4"
        assert lines[1] == "udp 0 datagram family=1 from=127.0.0.1 port-match=1"
    finally:
        echo.close()


def test_malformed_arguments_give_errnos():
    lines, _ = run("malformed", grants=["--allow-connect", "127.0.0.1:1"])
    got = [int(x) for x in lines[0].split()[1:]]
    assert got == [
        AFNOSUPPORT,
        INVAL,
        FAULT,
        INVAL,
        FAULT,
        FAULT,
        INVAL,
        FAULT,
        INVAL,
        FAULT,
        FAULT,
        BADF,
        NOTSOCK,
    ]


def test_the_socket_limit_holds():
    lines, _ = run("sockets", 100, grants=["--allow-connect", "127.0.0.1:1", "--max-sockets", "16"])
    assert lines == [f"sockets {MFILE} got=16"]


def test_sigterm_stops_a_guest_blocked_in_accept():
    port = free_port()
    p = subprocess.Popen(
        [BIN, "run", "--allow-listen", f"127.0.0.1:{port}", NET, "accept", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout.readline().strip() == "listening 0"
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0
    assert "SIGTERM received" in err and "stopped" in err


def test_a_timeout_stops_a_guest_blocked_reading_a_socket():
    """fd_read (not sock_recv) on a connected socket that never gets data: the wait is
    interruptible (found by the wasi fuzz target, which hung there)."""
    echo = socket.socket()
    echo.bind(("127.0.0.1", 0))
    echo.listen(1)
    port = echo.getsockname()[1]
    try:
        t = time.time()
        p = subprocess.run(
            [
                BIN,
                "run",
                "--timeout",
                "1",
                "--allow-connect",
                f"127.0.0.1:{port}",
                NET,
                "read",
                "127.0.0.1",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert p.returncode == 124 and "connected 0" in p.stdout and "timeout" in p.stderr
        assert time.time() - t < 10
    finally:
        echo.close()


def test_manifest_grants_for_a_function(tmp_path):
    """edgecar serve: a function's `network:` grants, as the flags of edgecar run; a
    function without them has no network."""
    echo = Echo()
    try:
        s = Server(
            tmp_path,
            f"""app_id: net
listen: 127.0.0.1:0
functions:
  - route: /granted
    module: {NET}
    network:
      connect: ["127.0.0.1:{echo.port}"]
      lookup: [localhost]
      max_sockets: 4
  - route: /bare
    module: {NET}
""",
        )
        try:
            status, _, body = s.request(
                "GET",
                f"/granted?echo+127.0.0.1+{echo.port}+connect+10.1.2.3+80+lookup+localhost+sockets+10",
            )
            assert status == 200
            assert body.decode().splitlines() == [
                "echo 0 ping local=127.0.0.1 type=4",
                f"connect {ACCES}",
                "lookup 0 127.0.0.1:80",
                f"sockets {MFILE} got=2",
            ]  # echo and connect hold two of the four
            status, _, body = s.request("GET", f"/bare?connect+127.0.0.1+{echo.port}")
            assert body.decode().splitlines() == [f"connect {ACCES}"]
            assert echo.accepted == 1
        finally:
            s.stop()
        bad = tmp_path / "bad.yaml"
        bad.write_text(
            f'app_id: x\nfunctions:\n  - route: /a\n    module: {NET}\n    network:\n      connect: ["999.1.1.1"]\n'
        )
        p = subprocess.run([BIN, "serve", "--check", str(bad)], capture_output=True, text=True)
        assert p.returncode != 0 and "bad.yaml:6" in p.stderr and "bad IPv4 address" in p.stderr, (
            p.stderr
        )
    finally:
        echo.close()

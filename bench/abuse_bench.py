#!/usr/bin/env python3
"""Load and abuse: a well-behaved route of `edgecar serve` measured with wrk alone, then
while hostile guests and clients run beside it (spinning guests, output bombs, slow
readers, slowloris connections, clients that disconnect mid-request), and the server's
CPU at the descriptor limit. Everything stays on loopback, bounded in count and time.

  bench/abuse_bench.py [--seconds 8] [--write bench/RESULTS.md]
"""

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time

from results import replace_section
from serve_bench import ROOT, wait_port, wrk_once


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def request(port, raw, read=True, timeout=10):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.sendall(raw)
        if read:
            while s.recv(1 << 16):
                pass
        s.close()
    except OSError:
        pass


class Abuse:
    """Hostile clients in threads until stop(); every loop is bounded by the deadline."""

    def __init__(self, port, seconds):
        self.port, self.deadline, self.threads, self.held = port, time.time() + seconds, [], []
        self.counts = {}

    def loop(self, name, fn):
        def run():
            n = 0
            while time.time() < self.deadline:
                fn()
                n += 1
            self.counts[name] = self.counts.get(name, 0) + n

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)

    def start(self):
        p = self.port
        get = lambda path: b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path
        for _ in range(3):
            self.loop("spinning guest (timeout 500 ms)", lambda: request(p, get(b"/spin?loop")))
        for _ in range(2):
            self.loop("output bomb (1000 MiB to stdout)", lambda: request(p, get(b"/spin?bomb")))
        self.loop(
            "client that disconnects mid-request",
            lambda: request(p, get(b"/spin?loop"), read=False),
        )
        body = b"z" * 4_000_000

        def slow_reader():
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            try:
                s.connect(("127.0.0.1", p))
                s.sendall(
                    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
                    + body
                )
                self.held.append(s)  # never read; the server drops it at write_timeout_ms
                time.sleep(0.5)
            except OSError:
                pass

        self.loop("slow reader (4 MB response never read)", slow_reader)
        for _ in range(200):  # slowloris: a header byte now and then
            try:
                s = socket.create_connection(("127.0.0.1", p), timeout=2)
                s.sendall(b"GET /hello HTTP/1.1\r\n")
                self.held.append(s)
            except OSError:
                pass
        self.counts["slowloris connections (headers never finished)"] = 200

    def stop(self):
        for t in self.threads:
            t.join()
        for s in self.held:
            s.close()


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--write", help="record the table in this markdown file (its abuse section)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    guests = os.path.join(build, "tests", "serve_guests")
    tmp = tempfile.mkdtemp(prefix="edgecar-abuse-")
    port = 18191
    log = open(os.path.join(tmp, "server.log"), "w")

    def write_manifest(workers):
        path = os.path.join(tmp, f"edgecar-{workers}.yaml")
        with open(path, "w") as f:
            f.write(
                f"app_id: abuse\nlisten: 127.0.0.1:{port}\nworkers: {workers}\nmax_queued: 32\nwrite_timeout_ms: 2000\nfunctions:\n"
                f"  - route: /hello\n    module: {guests}/handler.wasm\n    abi: handler\n"
                f"  - route: /spin\n    module: {guests}/misbehave.wasm\n"
                f"    limits: {{timeout_ms: 500, max_concurrent: 1, max_response_bytes: 1048576}}\n"
                f"  - route: /echo\n    module: {guests}/echo.wasm\n    limits: {{max_body_bytes: 8000000, max_concurrent: 1}}\n"
            )
        return path

    # The abusive routes may hold at most 2 workers (max_concurrent 1 each). With 2
    # workers they can hold all of them and the well-behaved route waits for one; with
    # 3, one worker is always left to it and only the cores are shared.
    rows, peak, abusers = [], 0, {}
    url = f"http://127.0.0.1:{port}/hello"
    for workers in (2, 3):
        manifest = write_manifest(workers)
        server = subprocess.Popen(
            [os.path.join(build, "edgecar"), "serve", manifest], stdout=log, stderr=log
        )
        try:
            assert wait_port(port), "edgecar serve did not start"
            wrk_once(url, 3, 8)  # warm-up
            if workers == 2:
                rows.append(("hello handler alone", wrk_once(url, args.seconds, 8), "2 workers"))
            abuse = Abuse(port, args.seconds + 2)
            abuse.start()
            time.sleep(1)
            cpu0 = cpu_seconds(server.pid)
            under = wrk_once(url, args.seconds, 8)
            cpu = cpu_seconds(server.pid) - cpu0
            abuse.stop()
            rows.append(
                (
                    f"hello handler under abuse, {workers} workers",
                    under,
                    f"server CPU {cpu / args.seconds:.2f} cores",
                )
            )
            peak = max(peak, peak_rss_mib(server.pid))
            abusers[workers] = "; ".join(f"{k}: {v}" for k, v in abuse.counts.items())
        finally:
            server.terminate()
            server.wait()

    # At the descriptor limit: the accept loop must wait, not spin.
    def few_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    server = subprocess.Popen(
        [os.path.join(build, "edgecar"), "serve", manifest],
        stdout=log,
        stderr=log,
        preexec_fn=few_fds,
    )
    held = []
    try:
        assert wait_port(port)
        for _ in range(60):
            c = socket.socket()
            c.connect(("127.0.0.1", port))
            held.append(c)
        time.sleep(0.3)
        c0 = cpu_seconds(server.pid)
        time.sleep(2)
        fd_cpu = (cpu_seconds(server.pid) - c0) / 2
    finally:
        for c in held:
            c.close()
        server.terminate()
        server.wait()

    cmd = "bench/abuse_bench.py " + " ".join(sys.argv[1:])
    lines = [
        "## Load and abuse (`edgecar serve`, wrk on a well-behaved route)",
        "",
        f"Command: `{cmd.strip()}`; {os.cpu_count()} cores shared by wrk, the abusers (Python threads) and the server; "
        "wrk -t1 -c8 keep-alive on a hello handler. The abusive routes are capped at `max_concurrent: 1` each, so "
        "they can hold 2 workers: with 2 workers the well-behaved route waits behind them; with 3 it always has "
        "one and shares only the cores (the rule for operators: `workers` above the sum of the untrusted "
        "functions' `max_concurrent`).",
        "",
        "| scenario | req/s | p50 ms | p99 ms | errors | notes |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r, note in rows:
        lines.append(
            f"| {name} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | {note} |"
        )
    lines += [
        "",
        "Abusers during the runs under abuse (requests or connections): "
        + " / ".join(f"{w} workers: {a}" for w, a in abusers.items())
        + ".",
        f"Server peak RSS over the whole run: {peak:.0f} MiB. At the descriptor limit (`ulimit -n 48`, 60 clients "
        f"held open) the server used {fd_cpu:.2f} cores while waiting to accept again.",
        "",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        replace_section(args.write, "abuse", text)


if __name__ == "__main__":
    main()

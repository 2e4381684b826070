#!/usr/bin/env python3
"""The service-host benchmark: wrk (keep-alive) against `edgecar serve` with a hello
handler, a WAGI hello and a 100 KB echo, and in the same run the baselines: a runtime
process per request (the original demo's approach) and native hello servers (Boost.Beast,
and Go net/http when Go is installed).
Reports requests/s, p50/p99 latency, errors, and the server's RSS before and after
about a million requests.

  bench/serve_bench.py [--seconds 10] [--repeat 3] [--million] [--write bench/RESULTS.md]
  bench/serve_bench.py --check [--seconds 3]     (scripts/test runs this)

--check is the regression guard: the handler and WAGI hellos and the native Beast hello
only, median of three runs each, and it fails when either hello falls below CHECK_FRACTION of
Beast's rate measured in the same run (a 3x fall of the handler hello once went
unnoticed for two weeks).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from results import replace_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# --check: each hello must reach this fraction of the native Beast hello's requests/s.
# Recorded (bench/RESULTS.md) the handler hello is near 0.4x and WAGI near 0.45x; this
# leaves room for a noisy machine and still catches a fall of 1.7x or more.
CHECK_FRACTION = 0.25


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wrk(url, seconds, connections, lua=None, repeat=1):
    """The median run (by requests/s) of `repeat` runs: this VM's neighbours make single runs noisy."""
    runs = sorted(
        (wrk_once(url, seconds, connections, lua) for _ in range(repeat)), key=lambda r: r["rps"]
    )
    best = runs[len(runs) // 2]
    best["runs"] = [round(r["rps"]) for r in runs]
    return best


def wrk_once(url, seconds, connections, lua=None):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if lua:
        cmd[1:1] = ["-s", lua]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout

    def latency(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not m:
            return None
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    sock = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {
        "rps": rps,
        "p50": latency(50),
        "p99": latency(99),
        "errors": non2xx + sock,
        "total": total,
    }


def wait_port(port, seconds=10):
    import socket

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="seconds of hello requests before measuring (not recorded)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per target; the table shows the median by requests/s",
    )
    ap.add_argument(
        "--million", action="store_true", help="also measure RSS over about a million requests"
    )
    ap.add_argument("--write", help="record the table in this markdown file (its serve section)")
    ap.add_argument(
        "--check",
        action="store_true",
        help=f"regression guard: fail when a hello falls below --fraction of the native Beast hello",
    )
    ap.add_argument(
        "--fraction",
        type=float,
        default=CHECK_FRACTION,
        help="--check's threshold (default %(default)s)",
    )
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)  # the manifest lives in a temporary directory
    if args.check:
        # Median of 3 short runs per target: one run on this noisy VM can halve a rate.
        args.repeat, args.million, args.write = 3, False, None
        args.warmup = min(args.warmup, 2)
    if not shutil.which("wrk"):
        sys.exit("wrk not found: run scripts/setup")
    edgecar = os.path.join(args.build, "edgecar")
    guests = os.path.join(args.build, "tests", "serve_guests")
    tmp = tempfile.mkdtemp(prefix="edgecar-serve-bench-")
    port = 18181
    manifest = os.path.join(tmp, "edgecar.yaml")
    with open(manifest, "w") as f:
        f.write(
            f"app_id: bench\nlisten: 127.0.0.1:{port}\nfunctions:\n"
            f"  - route: /hello\n    module: {guests}/handler.wasm\n    abi: handler\n"
            f"  - route: /wagi\n    module: {guests}/hello.wasm\n"
            f"  - route: /echo\n    module: {guests}/echo.wasm\n"
        )
    lua = os.path.join(tmp, "post100k.lua")
    with open(lua, "w") as f:
        f.write(
            'wrk.method = "POST"\nwrk.body = string.rep("x", 102400)\nwrk.headers["Content-Type"] = "application/octet-stream"\n'
        )
    rows = []
    log = open(os.path.join(tmp, "server.log"), "w")
    server = subprocess.Popen([edgecar, "serve", manifest], stdout=log, stderr=log)
    try:
        assert wait_port(port) and server.poll() is None, (
            f"edgecar serve did not start (or port {port} is taken)"
        )
        rss0 = rss_kib(server.pid)
        rss_note = ""
        if args.warmup:
            # Each timed route warmed up (with the default engine a function is served
            # interpreted until its native code is ready, compiled in the background).
            for path in ("/hello", "/wagi") if args.check else ("/hello",):
                wrk_once(f"http://127.0.0.1:{port}{path}", args.warmup, args.connections)
        targets = [
            ("edgecar: hello handler", "/hello", None),
            ("edgecar: WAGI hello", "/wagi", None),
            ("edgecar: 100 KB echo (WAGI)", "/echo", lua),
        ]
        if args.check:
            targets = targets[:2]
        for k, (name, path, extra) in enumerate(targets):
            r = wrk(
                f"http://127.0.0.1:{port}{path}", args.seconds, args.connections, extra, args.repeat
            )
            rows.append((name, r))
            print(name, r, flush=True)
            if (
                k == 0 and args.million
            ):  # the million hello requests follow the hello runs, which warmed the server up
                before = rss_kib(server.pid)
                rate = rows[0][1]["rps"]
                secs = max(
                    10, min(200, int(1_150_000 / max(rate, 1)) + 1)
                )  # at least a million at a typical rate
                r = wrk(f"http://127.0.0.1:{port}/hello", secs, args.connections)
                after = rss_kib(server.pid)
                rss_note = (
                    f"RSS of `edgecar serve` over {r['total']:,} more hello requests: {before / 1024:.1f} MiB before, "
                    f"{after / 1024:.1f} MiB after ({(after - before) / before * 100:+.1f}%), {r['errors']} errors; "
                    f"at start-up: {rss0 / 1024:.1f} MiB."
                )
                print(rss_note, flush=True)
    finally:
        server.terminate()
        server.wait(10)
        log.close()
    if args.check:
        shutil.rmtree(tmp, ignore_errors=True)
        return check(args, edgecar, rows, port + 2)
    # Baseline 1: a runtime process per request (the original demo's approach).
    spawn_port = port + 1
    spawner = subprocess.Popen(
        [
            sys.executable,
            os.path.join(ROOT, "bench", "serve", "spawn_server.py"),
            str(spawn_port),
            edgecar,
            os.path.join(guests, "hello.wasm"),
        ]
    )
    try:
        assert wait_port(spawn_port)
        r = wrk(f"http://127.0.0.1:{spawn_port}/", args.seconds, 8, None, args.repeat)
        rows.append(("process per request (`edgecar run` each time)", r))
        print(rows[-1], flush=True)
    finally:
        spawner.terminate()
        spawner.wait(10)

    def native(label, argv, native_port):
        """A native server's hello and 100 KB echo rows (GET answers hello, POST echoes)."""
        server = subprocess.Popen(argv + [str(native_port)])
        try:
            assert wait_port(native_port), f"{label} did not start"
            for what, script in [("hello", None), ("100 KB echo", lua)]:
                r = wrk(
                    f"http://127.0.0.1:{native_port}/",
                    args.seconds,
                    args.connections,
                    script,
                    args.repeat,
                )
                rows.append((f"native {what} ({label}, no wasm)", r))
                print(rows[-1], flush=True)
        finally:
            server.terminate()
            server.wait(10)

    # Baseline 2: Boost.Beast, the HTTP library edgecar serve uses.
    native("Boost.Beast", [os.path.join(args.build, "bench", "bench_native_hello")], port + 2)
    # Baseline 3: Go's net/http (the language of the original demo's services), when Go
    # is installed (it is wherever scripts/install-dapr has run).
    if shutil.which("go"):
        gobin = os.path.join(tmp, "gohello")
        subprocess.run(
            ["go", "build", "-o", gobin, "."],
            cwd=os.path.join(ROOT, "bench", "serve", "gohello"),
            check=True,
            env={**os.environ, "GOFLAGS": "-mod=mod", "GOWORK": "off"},
        )
        native("Go net/http", [gobin], port + 3)
    else:
        print(
            "Go not found: the Go net/http baseline is left out (scripts/install-dapr needs Go too)",
            flush=True,
        )
    shutil.rmtree(tmp, ignore_errors=True)

    cmd = "scripts/bench-serve " + " ".join(sys.argv[1:])
    lines = [
        "## Service host (`edgecar serve`, wrk)",
        "",
        f"Command: `{cmd.strip()}`; {os.cpu_count()} cores shared by wrk and the server; "
        f"wrk -t1 -c{args.connections} (-c8 for the process-per-request baseline), {args.seconds} s each, keep-alive; "
        f"after a {args.warmup} s warm-up, median of {args.repeat} runs (all runs' requests/s in the last column); "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| target | requests/s | p50 ms | p99 ms | errors | runs (req/s) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | {' / '.join(f'{x:,}' for x in r.get('runs', []))} |"
        )
    if rss_note:
        lines += ["", rss_note]
    report = "\n".join(lines) + "\n"
    print()
    print(report)
    if args.write:
        replace_section(args.write, "serve", report)
        print("wrote", args.write)


def check(args, edgecar, rows, native_port):
    """The regression guard: the hellos against Beast's hello, just measured."""
    beast = subprocess.Popen(
        [os.path.join(args.build, "bench", "bench_native_hello"), str(native_port)]
    )
    try:
        assert wait_port(native_port), "the Beast hello did not start"
        wrk_once(f"http://127.0.0.1:{native_port}/", min(args.warmup, 2), args.connections)
        native = wrk(
            f"http://127.0.0.1:{native_port}/", args.seconds, args.connections, None, args.repeat
        )
    finally:
        beast.terminate()
        beast.wait(10)
    print(
        f"serve regression guard: `bench/serve_bench.py --check --seconds {args.seconds}`; wrk -t1 "
        f"-c{args.connections}, {args.seconds} s each; each hello must reach {args.fraction}x the native Beast hello"
    )
    print("| target | requests/s | p99 ms | errors | vs Beast |\n|---|---:|---:|---:|---:|")
    print(
        f"| native hello (Boost.Beast) | {native['rps']:,.0f} | {native['p99']:.2f} | {native['errors']} | 1.00x |"
    )
    failed = []
    for name, r in rows:
        ratio = r["rps"] / max(native["rps"], 1)
        print(f"| {name} | {r['rps']:,.0f} | {r['p99']:.2f} | {r['errors']} | {ratio:.2f}x |")
        if ratio < args.fraction or r["errors"]:
            failed.append(f"{name}: {ratio:.2f}x of Beast's hello, {r['errors']} errors")
    if failed:
        print(
            "serve regression guard FAILED: "
            + "; ".join(failed)
            + f" (needs {args.fraction}x, no errors)"
        )
        return 1
    print("serve regression guard: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

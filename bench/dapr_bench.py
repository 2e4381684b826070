#!/usr/bin/env python3
"""Dapr's overhead and edgecar's, in one run: wrk (keep-alive) against a hello function
called directly and through its daprd (/v1.0/invoke/APP/method/hello), for edgecar's
handler and WAGI hellos and for a native hello server without WebAssembly. The
difference between direct and through daprd is Dapr's cost; the difference between
edgecar and native is edgecar's.

  bench/dapr_bench.py [--seconds 10] [--connections 16] [--warmup 10] [--repeat 3] [--write bench/RESULTS.md]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from results import replace_section
from serve_bench import wait_port, wrk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def daprd(tmp, app_id, app_port, http_port, grpc_port, internal_port):
    binary = subprocess.run(
        [os.path.join(ROOT, "scripts", "install-dapr")], capture_output=True, text=True, check=True
    ).stdout.strip()
    comp = os.path.join(tmp, "components")
    os.makedirs(comp, exist_ok=True)
    config = os.path.join(tmp, "config.yaml")
    with open(config, "w") as f:
        f.write(
            open(os.path.join(ROOT, "deploy", "config.yaml"))
            .read()
            .replace("build/dapr/nameresolution.db", os.path.join(tmp, "nr.db"))
        )
    log = open(os.path.join(tmp, f"{app_id}-daprd.log"), "w")
    return subprocess.Popen(
        [
            binary,
            "--app-id",
            app_id,
            "--app-port",
            str(app_port),
            "--app-protocol",
            "http",
            "--dapr-http-port",
            str(http_port),
            "--dapr-grpc-port",
            str(grpc_port),
            "--dapr-internal-grpc-port",
            str(internal_port),
            "--enable-metrics=false",
            "--config",
            config,
            "--resources-path",
            comp,
            "--log-level",
            "error",
        ],
        stdout=log,
        stderr=log,
    )


def wait_invoke(http_port, app, path, seconds=30):
    import http.client

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=2)
            c.request("GET", f"/v1.0/invoke/{app}/method{path}")
            if c.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="seconds of requests through each daprd before measuring",
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the table shows the median"
    )
    ap.add_argument("--write")
    a = ap.parse_args()
    guests = os.path.join(a.build, "tests", "serve_guests")
    tmp = tempfile.mkdtemp(prefix="edgecar-dapr-bench-")
    app_port, native_port = 18281, 18282
    manifest = os.path.join(tmp, "edgecar.yaml")
    with open(manifest, "w") as f:
        f.write(
            f"app_id: hello\nlisten: 127.0.0.1:{app_port}\nfunctions:\n"
            f"  - route: /hello\n    module: {guests}/handler.wasm\n    abi: handler\n"
            f"  - route: /wagi\n    module: {guests}/hello.wasm\n"
        )
    procs = []
    rows = []
    try:
        log = open(os.path.join(tmp, "edgecar.log"), "w")
        procs.append(
            subprocess.Popen(
                [os.path.join(a.build, "edgecar"), "serve", manifest],
                stdout=log,
                stderr=log,
                env=dict(os.environ, DAPR_HTTP_PORT="3590"),
            )
        )
        procs.append(
            subprocess.Popen(
                [os.path.join(a.build, "bench", "bench_native_hello"), str(native_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        procs.append(daprd(tmp, "hello", app_port, 3590, 50590, 50591))
        procs.append(daprd(tmp, "native", native_port, 3591, 50592, 50593))
        assert wait_port(app_port) and wait_port(native_port), "servers did not start"
        assert wait_invoke(3590, "hello", "/hello") and wait_invoke(3591, "native", "/"), (
            "daprd did not come up"
        )
        cases = [
            (
                "edgecar hello handler",
                f"http://127.0.0.1:{app_port}/hello",
                "http://127.0.0.1:3590/v1.0/invoke/hello/method/hello",
            ),
            (
                "edgecar WAGI hello",
                f"http://127.0.0.1:{app_port}/wagi",
                "http://127.0.0.1:3590/v1.0/invoke/hello/method/wagi",
            ),
            (
                "native hello (Beast, no wasm)",
                f"http://127.0.0.1:{native_port}/",
                "http://127.0.0.1:3591/v1.0/invoke/native/method/",
            ),
        ]
        if a.warmup:
            for _, _, via in cases:
                wrk(via, max(1, a.warmup // len(cases)), a.connections)
        for name, direct, via in cases:
            d = wrk(direct, a.seconds, a.connections, None, a.repeat)
            v = wrk(via, a.seconds, a.connections, None, a.repeat)
            rows.append((name, d, v))
            print(name, d, v, flush=True)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(15)
    lines = [
        "## Dapr: a hello function directly and through daprd",
        "",
        f"Command: `scripts/bench-dapr {' '.join(sys.argv[1:])}` (wrk -t1 -c{a.connections}, {a.seconds} s each, keep-alive, "
        f"after a {a.warmup} s warm-up through the sidecars, median of {a.repeat} runs; "
        f"daprd v1.16.0 on the same {os.cpu_count()} cores as the app and wrk).",
        "",
        "| function | direct req/s | p50 ms | p99 ms | through daprd req/s | p50 ms | p99 ms | daprd adds at p50 | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d, v in rows:
        lines.append(
            f"| {name} | {d['rps']:,.0f} | {d['p50']:.2f} | {d['p99']:.2f} | {v['rps']:,.0f} | {v['p50']:.2f} | {v['p99']:.2f} | "
            f"{v['p50'] - d['p50']:.2f} ms | {d['errors'] + v['errors']} |"
        )
    e, n = rows[0], rows[2]
    extra = e[2]["p50"] - n[2]["p50"]
    verdict = (
        f"edgecar adds {extra:.2f} ms"
        if extra > 0
        else f"edgecar adds nothing measurable ({extra:+.2f} ms: within the run-to-run noise of daprd on these 2 cores)"
    )
    lines += [
        "",
        f"Through daprd, edgecar's hello handler answers at p50 {e[2]['p50']:.2f} ms against the native server's {n[2]['p50']:.2f} ms: "
        f"{verdict} to a Dapr call whose own cost here is about {n[2]['p50'] - n[1]['p50']:.2f} ms.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.write:
        replace_section(a.write, "dapr", text)


if __name__ == "__main__":
    main()

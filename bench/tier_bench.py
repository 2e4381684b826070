#!/usr/bin/env python3
"""Interpreted vs native code under `edgecar serve`: the demo's grayscale function
(C++, SIMD) on a 1-megapixel PNG, one function per tier (engine: interp, engine: native) in
one server, requests one at a time; the answers must be identical.

  bench/tier_bench.py [--requests 20] [--write bench/RESULTS.md]
"""

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from results import replace_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def image_png(size=1000):
    """A 1000 x 1000 RGB PNG with gradients and noise, encoded here (zlib, no filter)."""
    import random
    import struct
    import zlib

    rng = random.Random(7)
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter: none
        for x in range(size):
            n = rng.randrange(32)
            rows += bytes(
                (
                    min(255, x * 255 // size + n),
                    min(255, y * 255 // size + n),
                    min(255, (x + y) * 127 // size + n),
                )
            )

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + chunk(b"IEND", b"")
    )


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--write")
    args = ap.parse_args()
    binary = os.path.join(args.build, "edgecar")
    module = os.path.join(args.build, "functions", "grayscale.wasm")
    body = image_png()
    tmp = tempfile.mkdtemp()
    manifest = os.path.join(tmp, "edgecar.yaml")
    fns = ""
    for engine in ("interp", "native"):
        fns += (
            f"  - route: /{engine}\n    module: {module}\n    engine: {engine}\n"
            '    host_modules: [image, dapr]\n    env: {RECORD_EVENTS: "off"}\n'
            "    limits: {max_body_bytes: 10485760, timeout_ms: 60000, max_memory_mib: 1024}\n"
        )
    with open(manifest, "w") as f:
        f.write(f"app_id: tiers\nlisten: 127.0.0.1:0\nworkers: 1\nfunctions:\n{fns}")
    log = open(os.path.join(tmp, "server.log"), "w+")
    env = dict(os.environ, EDGECAR_AOT_CACHE="off")
    proc = subprocess.Popen(
        [binary, "serve", manifest, "--port", "0"], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    port = None
    deadline = time.time() + 300  # engine native compiles before serving
    while port is None and time.time() < deadline:
        log.seek(0)
        m = re.search(r"serving .*http://[^:]+:(\d+)", log.read())
        if m:
            port = int(m.group(1))
        elif proc.poll() is not None:
            sys.exit("server exited: " + open(log.name).read())
        time.sleep(0.05)
    try:
        results, answers = {}, {}
        for engine in ("interp", "native"):
            times = []
            for _ in range(args.requests):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                t0 = time.perf_counter()
                c.request("POST", f"/{engine}", body=body, headers={"Content-Type": "image/png"})
                r = c.getresponse()
                data = r.read()
                times.append(time.perf_counter() - t0)
                c.close()
                if r.status != 200:
                    sys.exit(f"{engine}: status {r.status}: {data[:300]}")
                answers.setdefault(engine, data)
                if data != answers[engine]:
                    sys.exit(f"{engine}: answers differ between requests")
            times.sort()
            results[engine] = (statistics.median(times), times[int(len(times) * 0.9) - 1])
        same = answers["interp"] == answers["native"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    cmd = "scripts/bench-tiers " + " ".join(sys.argv[1:])
    lines = [
        "## Interpreted vs native code under edgecar serve",
        "",
        f"Command: `{cmd.strip()}`  ",
        f"{time.strftime('%Y-%m-%d')}; {os.cpu_count()} cores; the demo's grayscale "
        f"function (C++, SIMD) on a 1000 x 1000 PNG ({len(body) / 1e6:.1f} MB), {args.requests} requests per tier, "
        "one at a time, one worker; PNG decoding and encoding run in the host (image module) for both tiers.",
        "",
        "| engine | median (ms) | p90 (ms) |",
        "|---|---:|---:|",
    ]
    for engine in ("interp", "native"):
        lines.append(
            f"| {engine} | {results[engine][0] * 1000:.1f} | {results[engine][1] * 1000:.1f} |"
        )
    lines += [
        "",
        f"Native code is **{results['interp'][0] / results['native'][0]:.2f}x** as fast by median; "
        f"answers identical: {'yes' if same else 'NO'}.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.write:
        replace_section(args.write, "tiers", report)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A hyper server guest under edgecar against the same program built natively.

The program (bench/programs/hyper-hello) is a hyper hello on tokio's current-thread
runtime, written as the seed repository's services are: for wasm32-wasi it uses
WasmEdge's forks (tokio_wasi, hyper_wasi: WasmEdge's socket extension), built with
Debian's rustc 1.63 and cargo 0.66 from vendored crates as ../shared/seed-services/build.sh
builds the seed services; natively the original tokio and hyper with rustup's cargo.
Both are built once and cached under ~/.cache/edgecar/hyper-hello/KEY (KEY: SHA-256 of
the sources and lock file). wrk -t1 -cN keep-alive on GET /, after a warm-up; the median
of --repeat runs. Also the seed repository's image-api-grayscale (GET / answers a
sentence) as it was built, under edgecar.

  bench/hyper_hello.py [--seconds 10] [--connections 32] [--repeat 3] [--write bench/RESULTS.md]

edgecar runs with its default engine (tiered) after an unmeasured run has filled the
native-code cache (warm), and with --engine interp.
"""

import argparse
import glob
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import replace_section  # noqa: E402
from serve_bench import wrk  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = os.path.join(ROOT, "bench", "programs", "hyper-hello")
SEED = os.path.abspath(
    os.environ.get("SEED_DIR", os.path.join(ROOT, "..", "shared", "seed-services"))
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build():
    """(module, native binary), built once per source hash."""
    h = hashlib.sha256()
    for f in sorted(glob.glob(os.path.join(PROGRAM, "**", "*"), recursive=True)):
        if os.path.isfile(f):
            h.update(f.encode())
            h.update(open(f, "rb").read())
    cache = os.path.expanduser(f"~/.cache/edgecar/hyper-hello/{h.hexdigest()[:16]}")
    module, native = os.path.join(cache, "hyper-hello.wasm"), os.path.join(cache, "hyper-hello")
    if os.path.exists(module) and os.path.exists(native):
        return module, native
    if not shutil.which("cargo"):
        raise SystemExit("hyper_hello: rustup's cargo is needed to build the program")
    work = tempfile.mkdtemp(prefix="hyper-hello-")
    src = os.path.join(work, "src")
    shutil.copytree(PROGRAM, src)
    print(f"hyper_hello: building (once, cached in {cache}) ...", file=sys.stderr)
    subprocess.run(
        ["cargo", "build", "--release", "--locked"],
        cwd=src,
        check=True,
        env=dict(os.environ, CARGO_TARGET_DIR=os.path.join(work, "native")),
    )
    # wasm32-wasi: Debian's rustc 1.63 has the only wasm32-wasi standard library here, and
    # only Debian's cargo 0.66 drives it (unpacked, not installed); crates vendored.
    deb = os.path.join(work, "deb")
    os.makedirs(deb)
    subprocess.run(
        [
            "apt-get",
            "download",
            "cargo",
            "libgit2-1.5",
            "libhttp-parser2.9",
            "libmbedcrypto7",
            "libmbedx509-1",
            "libmbedtls14",
        ],
        cwd=deb,
        check=True,
        capture_output=True,
    )
    for d in glob.glob(os.path.join(deb, "*.deb")):
        subprocess.run(["dpkg-deb", "-x", d, os.path.join(deb, "root")], check=True)
    vendor = os.path.join(work, "vendor")
    subprocess.run(
        ["cargo", "vendor", "--locked", "--versioned-dirs", vendor],
        cwd=src,
        check=True,
        capture_output=True,
    )
    env = dict(
        os.environ,
        LD_LIBRARY_PATH=os.path.join(deb, "root", "usr", "lib", "x86_64-linux-gnu"),
        CARGO_HOME=os.path.join(work, "cargohome"),
        RUSTC="/usr/bin/rustc",
        RUSTDOC="/usr/bin/rustdoc",
        CARGO_TARGET_DIR=os.path.join(work, "wasm"),
    )
    subprocess.run(
        [
            os.path.join(deb, "root", "usr", "bin", "cargo"),
            "--config",
            'source.crates-io.replace-with="vendored-sources"',
            "--config",
            f'source.vendored-sources.directory="{vendor}"',
            "build",
            "--offline",
            "--locked",
            "--target",
            "wasm32-wasi",
            "--release",
        ],
        cwd=src,
        env=env,
        check=True,
    )
    os.makedirs(cache, exist_ok=True)
    shutil.copy(os.path.join(work, "wasm", "wasm32-wasi", "release", "hyper-hello.wasm"), module)
    shutil.copy(os.path.join(work, "native", "release", "hyper-hello"), native)
    shutil.rmtree(work, ignore_errors=True)
    return module, native


def wait_ready(proc, port, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"hyper_hello: the server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"hyper_hello: the server did not listen on {port}")


def measure(cmd, port, env, seconds, connections, repeat):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_ready(proc, port)
        url = f"http://127.0.0.1:{port}/"
        wrk(url, 5, connections)  # warm-up (tiering compiles the hot functions here)
        r = wrk(url, seconds, connections, repeat=repeat)
        r["rss"] = (
            int(open(f"/proc/{proc.pid}/status").read().split("VmRSS:")[1].split()[0]) // 1024
        )
        return r
    finally:
        proc.terminate()
        proc.wait(15)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write")
    args = ap.parse_args()
    edgecar = os.path.join(os.path.abspath(args.build), "edgecar")
    module, native = build()
    cache = tempfile.mkdtemp(prefix="hyper-hello-cache-")
    env = dict(os.environ, EDGECAR_AOT_CACHE=cache)
    rows = []

    def guest(name, extra, mod, port=None, port_arg=True):
        port = port or free_port()
        cmd = [
            edgecar,
            "run",
            *extra,
            "--allow-listen",
            f"127.0.0.1:{port}" if port_arg else str(port),
            mod,
        ]
        if port_arg:
            cmd.append(str(port))
        measure(cmd, port, env, 3, args.connections, 1)  # fills the native-code cache
        rows.append((name, measure(cmd, port, env, args.seconds, args.connections, args.repeat)))

    guest("hyper-hello under edgecar (tiered, cache warm)", [], module)
    guest("hyper-hello under edgecar --engine interp", ["--engine", "interp"], module)
    port = free_port()
    rows.append(
        (
            "hyper-hello native x86_64 (same source)",
            measure(
                [native, str(port)],
                port,
                dict(os.environ),
                args.seconds,
                args.connections,
                args.repeat,
            ),
        )
    )
    seed = os.path.join(SEED, "wasm", "image-api-grayscale.wasm")
    if os.path.exists(seed):  # port 9005 is compiled into it
        guest(
            "seed image-api-grayscale `GET /` under edgecar (tiered, warm)",
            [],
            seed,
            port=9005,
            port_arg=False,
        )
    shutil.rmtree(cache, ignore_errors=True)
    native_rps = rows[2][1]["rps"]
    cmd = "bench/hyper_hello.py " + " ".join(
        a for a in sys.argv[1:] if a != "--write" and a != args.write
    )
    lines = [
        "## A hyper server guest vs the same program native (`bench/hyper_hello.py`)",
        "",
        f"Command: `{cmd.strip()}`; {time.strftime('%Y-%m-%d')}; {os.cpu_count()} cores shared by wrk and the server; "
        f"wrk -t1 -c{args.connections} keep-alive on `GET /`, median of {args.repeat} runs of {args.seconds} s after a "
        "5 s warm-up. bench/programs/hyper-hello: hyper on tokio's current-thread runtime; for wasm32-wasi on "
        "WasmEdge's forks (the socket extension), natively on the originals, from one source. Warm: an unmeasured run "
        "filled the native-code cache first.",
        "",
        "| server | requests/s | p50 ms | p99 ms | errors | RSS MiB | vs native |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | {r['rss']} | "
            f"{r['rps'] / native_rps:.2f}x |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        replace_section(args.write, "hyper-hello", text)


if __name__ == "__main__":
    main()

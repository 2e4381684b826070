#!/usr/bin/env python3
"""The WASI-NN benchmark: single-image latency of the MobileNets through a guest
(set_input + compute + get_output timed inside the guest, edgecar run --nn-preload)
against the TensorFlow Lite runtime's own latency in Python (ai-edge-litert
Interpreter: set_tensor + invoke + get_tensor), same thread count, in one run. Also the
end-to-end time of the classify function per request under `edgecar serve` (decode,
resize, inference, labels).

  bench/nn_bench.py [--iterations 50] [--threads 1 2] [--write bench/RESULTS.md]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from results import replace_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
DATA = os.path.join(ROOT, "..", "shared", "data")
MODELS = [
    ("mobilenet_v2_1.0_224_quant", 224),
    ("mobilenet_v1_0.75_192_quant", 192),
    ("mobilenet_v1_0.25_128_quant", 128),
]


def runtime_latency(path, size, threads, iterations):
    it = Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    x = (np.arange(size * size * 3) * 31 % 251).astype(np.uint8).reshape(1, size, size, 3)
    times = []
    for i in range(iterations + 3):
        t0 = time.perf_counter()
        it.set_tensor(inp, x)
        it.invoke()
        it.get_tensor(out)
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    return times[len(times) // 2], times[len(times) * 9 // 10]


def edgecar_latency(build, path, size, threads, iterations):
    r = subprocess.run(
        [
            f"{build}/edgecar",
            "run",
            "--nn-preload",
            f"m:tensorflowlite:cpu:{path}",
            "--nn-threads",
            str(threads),
            "--env",
            f"SIZE={size}",
            "--env",
            f"ITERATIONS={iterations}",
            f"{build}/bench/nn_latency.wasm",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    p50, p90 = r.stdout.split()
    return float(p50), float(p90)


def classify_requests(build, n=100):
    from edgecar_server import Server
    import http.client

    with tempfile.TemporaryDirectory() as tmp:
        import pathlib

        text = f"""app_id: classify
functions:
  - route: /classify
    module: {build}/functions/classify.wasm
    host_modules: [wasi_nn, image, dapr]
    nn_preload: ["mobilenet:tensorflowlite:cpu:{DATA}/models/mobilenet_v2_1.0_224_quant.tflite"]
    dirs: ["{DATA}/labels:/labels"]
"""
        os.environ["EDGECAR_BIN"] = f"{build}/edgecar"
        s = Server(pathlib.Path(tmp), text)
        try:
            body = open(f"{DATA}/images/food.jpg", "rb").read()
            c = http.client.HTTPConnection("127.0.0.1", s.port)
            times = []
            for i in range(n + 5):
                t0 = time.perf_counter()
                c.request("POST", "/classify", body)
                r = c.getresponse()
                r.read()
                assert r.status == 200
                if i >= 5:
                    times.append((time.perf_counter() - t0) * 1e3)
            times.sort()
            return times[len(times) // 2], times[len(times) * 9 // 10]
        finally:
            s.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--write")
    a = ap.parse_args()
    cmd = "scripts/bench-nn " + " ".join(sys.argv[1:])
    rows = []
    for name, size in MODELS:
        path = os.path.join(DATA, "models", name + ".tflite")
        for t in a.threads:
            e = edgecar_latency(a.build, path, size, t, a.iterations)
            r = runtime_latency(path, size, t, a.iterations)
            rows.append(
                f"| {name} | {t} | {e[0] / 1000:.2f} | {e[1] / 1000:.2f} | {r[0] / 1000:.2f} | {r[1] / 1000:.2f} | {e[0] / r[0]:.2f}x |"
            )
    cl = classify_requests(a.build)
    text = (
        "## WASI-NN: MobileNet latency through a guest vs the TensorFlow Lite runtime\n\n"
        "edgecar's TensorFlow Lite backend is the LiteRT runtime itself (its C API), so the\n"
        "inference is the same code; the table measures what the WASI-NN layer adds (copying\n"
        "the tensor in and out of guest memory, the host calls). Target: within 1.5x.\n\n"
        f"Command: `{cmd}` ({a.iterations} inferences each after 3 warm-ups; {os.cpu_count()} cores).\n\n"
        "| model | threads | edgecar guest p50 ms | p90 ms | TFLite runtime p50 ms | p90 ms | edgecar / runtime |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"classify under `edgecar serve` (food.jpg, keep-alive, one client, 100 requests): p50 {cl[0]:.2f} ms, p90 {cl[1]:.2f} ms "
        "per request, including JPEG decoding, resizing, inference and the label lookup.\n"
    )
    print(text)
    if a.write:
        replace_section(a.write, "nn", text)


if __name__ == "__main__":
    main()

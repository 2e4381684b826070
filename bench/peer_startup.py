"""Start-up costs of the peers that can measure them in-process (JSON on stdout)."""

import json
import statistics
import sys
import time

big_path, mem_path = sys.argv[1], sys.argv[2]
big = open(big_path, "rb").read()
mem = open(mem_path, "rb").read()
out = {}


def median_us(fn, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e6)
    return round(statistics.median(ts), 1)


try:
    import wasm3

    def w3_load(data):
        env = wasm3.Environment()
        rt = env.new_runtime(1 << 16)
        rt.load(env.parse_module(data))

    out["wasm3"] = {
        "load_us": round(median_us(lambda: w3_load(big), 3)),
        "instantiate_us": median_us(lambda: w3_load(mem), 50),
        "note": "pywasm3: parse + load (functions compile lazily on first call); through Python",
    }
except Exception as e:  # reported, not fatal
    out["wasm3"] = {"note": f"unavailable: {e}"}

try:
    import wasmtime

    engine = wasmtime.Engine()
    out_w = {
        "load_us": round(
            median_us(
                lambda: wasmtime.Instance(wasmtime.Store(engine), wasmtime.Module(engine, big), []),
                3,
            )
        )
    }
    module = wasmtime.Module(engine, mem)
    out_w["instantiate_us"] = median_us(
        lambda: wasmtime.Instance(wasmtime.Store(engine), module, []), 200
    )
    out_w["note"] = "PyPI wasmtime: Cranelift compile of the big module; instantiate through Python"
    out["wasmtime"] = out_w
except Exception as e:
    out["wasmtime"] = {"note": f"unavailable: {e}"}

print(json.dumps(out))

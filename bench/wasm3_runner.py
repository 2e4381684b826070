"""Runs a kernel's run(n) in wasm3 (PyPI pywasm3) and prints the checksum."""

import sys

import wasm3

path, n = sys.argv[1], int(sys.argv[2])
env = wasm3.Environment()
rt = env.new_runtime(1 << 20)
with open(path, "rb") as f:
    rt.load(env.parse_module(f.read()))
print(rt.find_function("run")(n) & 0xFFFFFFFF)

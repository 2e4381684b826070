#!/usr/bin/env python3
"""The README's performance figures, generated from the recorded results: bench/RESULTS.json
(the kernel run's raw data), bench/RESULTS.md and bench/RESULTS-wasm3.md (the tables each
benchmark script writes). Every figure the README states stands between a pair of markers

    <!-- figures:NAME -->  ...  <!-- /figures:NAME -->

and is rewritten from those files; nothing between the markers is written by hand.

    bench/readme_figures.py            rewrite README.md's figure blocks
    bench/readme_figures.py --check    exit 1 if README.md differs from the results (ctest)
"""

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
RESULTS_JSON = os.path.join(ROOT, "bench", "RESULTS.json")
RESULTS_MD = os.path.join(ROOT, "bench", "RESULTS.md")
RESULTS_WASM3 = os.path.join(ROOT, "bench", "RESULTS-wasm3.md")


class Missing(Exception):
    """A figure the README needs is not in the results (a table renamed, a run not made)."""


def section(md, name):
    """The text of RESULTS.md's section NAME (between its markers, bench/results.py)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in md or end not in md:
        raise Missing(f"bench/RESULTS.md has no section {name!r}")
    return md[md.index(begin) + len(begin) : md.index(end)]


def table(text, after):
    """The rows (lists of cells, header first) of the first markdown table after the line
    that starts with `after`."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(after):
            rows = []
            for row in lines[i + 1 :]:
                if row.startswith("|"):
                    if not re.fullmatch(r"\|[\s\-:|]+\|", row.strip()):
                        rows.append([c.strip() for c in row.strip().strip("|").split("|")])
                elif rows:
                    break
            if rows:
                return rows
    raise Missing(f"no table after {after!r}")


def row(rows, first):
    """The cells of the row whose first cell is `first`, as a dict by the header."""
    for r in rows[1:]:
        if r[0] == first:
            return dict(zip(rows[0], r))
    raise Missing(f"no row {first!r} in a table headed {rows[0]}")


def find(pattern, text, what):
    m = re.search(pattern, text)
    if not m:
        raise Missing(f"{what}: no match for {pattern!r}")
    return m


def num(cell):
    """The first number in a cell ("**1.16x**", "64,235", "0.513 (2.1x)")."""
    m = re.search(r"-?[\d,]*\.?\d+", cell)
    if not m:
        raise Missing(f"no number in {cell!r}")
    return float(m.group().replace(",", ""))


KINDS = {
    "edgecar": "interpreter",
    "edgecar-tiered": "the default engine, nothing cached: interpreted, hot code compiled while it runs",
    "edgecar-native cold": "native code (LLVM 19 -O2), compiled in every process (no cache)",
    "edgecar-native warm": "native code (LLVM 19 -O2) from edgecar's cache",
    "wasm3": "interpreter (PyPI pywasm3, through Python)",
    "wamr cold": "AOT (PyPI wamr-bin): `wamrc` compile + run",
    "wamr warm": "AOT (PyPI wamr-bin): the compiled file run",
    "wasmtime cold": "Cranelift JIT, no cache (`-C cache=n`)",
    "wasmtime warm": "Cranelift JIT, code from its cache",
    "node": "V8 JIT (no code kept between processes)",
}


def kernels_block(data, md):
    text = section(md, "kernels")
    geo = data.get("geomean")
    if not geo:
        raise Missing(
            "bench/RESULTS.json has no geometric means (re-run scripts/bench --write bench/RESULTS.md)"
        )
    lines = [
        f"`{data['command']}`, {data['date']}, 2 cores; whole processes, median of 3 "
        "(full tables, chart and what each column times: [bench/RESULTS.md](bench/RESULTS.md)):",
        "",
        "| runner | what runs | time vs native, geometric mean of 16 kernels |",
        "| --- | --- | ---: |",
    ]
    for name in data["runners"]:
        if name == "native" or name not in geo:
            continue
        bold = name.startswith("edgecar")
        figure = f"{geo[name]:.2f}x"
        lines.append(
            f"| {'**' + name + '**' if bold else name} | {KINDS.get(name, '')} | "
            f"{'**' + figure + '**' if bold else figure} |"
        )
    lines.append("")
    wasm3 = find(
        r"edgecar / wasm3: geometric mean \*\*([\d.]+)\*\*.*?slowest kernel relative to wasm3: (\w+) at ([\d.]+)\. "
        r"wasm3's times include ([\d.]+) s",
        text,
        "interpreter vs wasm3",
    )
    lines.append(
        f"edgecar's interpreter takes {wasm3.group(1)}x wasm3's time by geometric mean (its worst "
        f"kernel, {wasm3.group(2)}, {wasm3.group(3)}x; each wasm3 process includes {wasm3.group(4)} s of "
        "Python start-up)."
    )
    results = data["results"]
    for k in ("fib", "dot_intrinsics"):
        if "edgecar-native warm" in results.get(k, {}) and isinstance(
            results[k]["edgecar-native warm"], float
        ):
            lines[-1] += (
                f" {k}: edgecar-native {results[k]['edgecar-native warm'] / results[k]['native']:.1f}x "
                f"native warm, {results[k]['edgecar-native cold'] / results[k]['native']:.1f}x cold."
            )
    compile_rows = table(text, "### Compile time")
    e, w = row(compile_rows, "edgecar"), row(compile_rows, "wasmtime")
    start = table(text, "### Start-up")
    s = row(start, "edgecar")
    sn = row(start, "edgecar (native code)")
    big_mb = find(r"instantiate a ([\d.]+) MB module", text, "start-up").group(1)
    lines += [
        "",
        f"Compilation: edgecar (LLVM, O2) {num(e['ms per MB']):,.0f} ms per MB of wasm, wasmtime "
        f"(Cranelift) {num(w['ms per MB']):,.0f}. One more instance of a loaded module with 1 MiB of data "
        f"segments: {num(s['instantiate (1 MiB data)'])} us ({num(sn['instantiate (1 MiB data)'])} us for "
        f"native code); decoding, validating and preparing a "
        f"{big_mb} MB module for the "
        f"interpreter: {num(s['load big module']) / 1000:,.0f} ms.",
    ]
    simd = table(text, "### SIMD builds")
    g = [r for r in simd[1:] if r[0].startswith("**geometric mean")]
    if not g:
        raise Missing("no SIMD geometric-mean row")
    cells = dict(zip(simd[0], g[0]))
    lines += [
        "",
        "SIMD builds against scalar builds, speed-up by geometric mean over the kernels clang "
        "vectorizes: " + ", ".join(f"{name} {num(cells[name]):.2f}x" for name in simd[0][2:]) + ".",
    ]
    return "\n".join(lines)


def wasm3_block(md3):
    date = find(r"Date: ([\d-]+)", md3, "3.0 tables' date").group(1)
    exc = table(md3, "### Exceptions")
    gc = table(md3, "### Garbage collection")
    kot = table(md3, "Kotlin/Wasm guest")

    def cells(rows, col):
        return ", ".join(f"{r[0]} {num(dict(zip(rows[0], r))[col]):.3f} s" for r in rows[1:])

    lines = [
        f"`scripts/bench --wasm3-only --write bench/RESULTS-wasm3.md`, {date} (cold: every process compiles; "
        "warm: code from the runtime's cache; edgecar's interpreter compiles nothing):",
        "",
        f"- Exceptions (1,000,000 throws caught across a call): {cells(exc, 'seconds')}.",
        f"- Garbage collection, binary trees of depth 16 (15 million short-lived nodes): {cells(gc, 'seconds')}; "
        "peak resident memory "
        + ", ".join(f"{r[0]} {num(dict(zip(gc[0], r))['peak RSS (MB)']):.0f} MB" for r in gc[1:])
        + ".",
        f"- The Kotlin/Wasm guest of the tests (a million-node list, trees, a map, exceptions): {cells(kot, 'seconds')}; "
        "peak resident memory "
        + ", ".join(f"{r[0]} {num(dict(zip(kot[0], r))['peak RSS (MB)']):.0f} MB" for r in kot[1:])
        + ".",
    ]
    return "\n".join(lines)


def services_block(md):
    serve = section(md, "serve")
    st = table(serve, "Command:")
    hello = row(st, "edgecar: hello handler")
    wagi = row(st, "edgecar: WAGI hello")
    echo = row(st, "edgecar: 100 KB echo (WAGI)")
    proc = row(st, "process per request (`edgecar run` each time)")
    beast = row(st, "native hello (Boost.Beast, no wasm)")
    go = row(st, "native hello (Go net/http, no wasm)")
    serve_date = find(r"; ([\d-]{10})\.", serve, "serve date").group(1)
    nn = section(md, "nn")
    nt = table(nn, "Command:")
    v2 = [r for r in nt[1:] if r[0] == "mobilenet_v2_1.0_224_quant" and r[1] == "1"]
    if not v2:
        raise Missing("no MobileNet v2 1-thread row")
    v2 = dict(zip(nt[0], v2[0]))
    classify = find(
        r"classify under `edgecar serve`.*?p50 ([\d.]+) ms", nn, "classify end to end"
    ).group(1)
    dapr = section(md, "dapr")
    dt = table(dapr, "Command:")
    # Its header names "p50 ms" twice (direct, through daprd): cells by position.
    dh = [r for r in dt[1:] if r[0] == "edgecar hello handler"]
    dn = [r for r in dt[1:] if r[0] == "native hello (Beast, no wasm)"]
    if not dh or not dn or dt[0][2] != "p50 ms" or dt[0][5] != "p50 ms":
        raise Missing("the Dapr table's rows or columns changed")
    dh, dn = dh[0], dn[0]
    cluster = section(md, "cluster")
    ct = table(cluster, "Command:")
    ft = table(cluster, "Failover:")
    with_policy = ft[1]
    without = ft[2]
    hyper = section(md, "hyper-hello")
    ht = table(hyper, "Command:")
    hg = row(ht, "hyper-hello under edgecar (tiered, cache warm)")
    hn = row(ht, "hyper-hello native x86_64 (same source)")
    hs = row(ht, "seed image-api-grayscale `GET /` under edgecar (tiered, warm)")
    lines = [
        "| what | edgecar | comparison |",
        "| --- | ---: | --- |",
        f"| hello handler, fresh instance per request (`scripts/bench-serve`, {serve_date}) | "
        f"{num(hello['requests/s']):,.0f} req/s, p99 {hello['p99 ms']} ms | WAGI hello {num(wagi['requests/s']):,.0f} req/s; "
        f"native hello: Beast {num(beast['requests/s']):,.0f}, Go net/http {num(go['requests/s']):,.0f} req/s; "
        f"a process per request {num(proc['requests/s']):,.0f} req/s |",
        f"| a hyper server guest on the socket extension, keep-alive `GET /` (`bench/hyper_hello.py`) | "
        f"{num(hg['requests/s']):,.0f} req/s, p99 {hg['p99 ms']} ms ({hg['vs native']} native); the seed "
        f"repository's grayscale service {num(hs['requests/s']):,.0f} req/s | the same source built natively "
        f"{num(hn['requests/s']):,.0f} req/s, p99 {hn['p99 ms']} ms |",
        f"| 100 KB echo through a WAGI guest | {num(echo['requests/s']):,.0f} req/s, p99 {echo['p99 ms']} ms | "
        f"Beast {num(row(st, 'native 100 KB echo (Boost.Beast, no wasm)')['requests/s']):,.0f} req/s |",
        f"| MobileNet v2 inference through a guest, 1 thread (`scripts/bench-nn`) | {v2['edgecar guest p50 ms']} ms | "
        f"TensorFlow Lite runtime itself: {v2['TFLite runtime p50 ms']} ms ({v2['edgecar / runtime']}) |",
        f"| classify request end to end (decode, resize, infer, label) | p50 {classify} ms | |",
        f"| hello through daprd (`scripts/bench-dapr`, median of 3) | p50 {dh[5]} ms (direct {dh[2]} ms) | "
        f"native hello through daprd {dn[5]} ms (direct {dn[2]} ms) |",
        f"| classify across hosts, 4 clients, 1 and 2 replicas (`scripts/bench-cluster`) | "
        f"{' and '.join(f'{num(r[1]):,.0f}' for r in ct[1:])} req/s, {'/'.join(r[4] for r in ct[1:])} failed; a replica "
        f"killed mid-run: {with_policy[3]} of {with_policy[1]} failed with the resiliency policy | without the policy "
        f"{without[3]} of {without[1]} failed (2 cores shared by all hosts: replicas cannot add compute here) |",
    ]
    return "\n".join(lines)


def real_programs_block(md):
    text = section(md, "real-programs")
    rows = table(text, "Command:")
    date = find(r"; ([\d-]{10});", text, "real programs' date").group(1)
    lines = [
        f"`bench/real_programs.py --write bench/RESULTS.md`, {date} (seconds per process; outputs identical "
        "to wasmtime's):",
        "",
        "| program | size | edgecar: load | edgecar cold (default: tiered) | edgecar warm | "
        "edgecar interpreted | edgecar whole module native, cold | wasmtime cold | wasmtime warm |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in rows[1:]:
        c = dict(zip(rows[0], r))
        if c["output as wasmtime's"] != "yes":
            raise Missing(f"{r[0]}: output differs from wasmtime's")
        lines.append(
            f"| {c['program (registry package)']} | {c['size']} | {c['load']} | {c['edgecar cold']} | "
            f"{c['edgecar warm']} | {c['edgecar interp']} | {c['edgecar native cold']} | "
            f"{c['wasmtime cold']} | {c['wasmtime warm']} |"
        )
    return "\n".join(lines)


def blocks():
    with open(RESULTS_JSON) as f:
        data = json.load(f)
    md = open(RESULTS_MD).read()
    md3 = open(RESULTS_WASM3).read()
    return {
        "kernels": kernels_block(data, md),
        "wasm3": wasm3_block(md3),
        "services": services_block(md),
        "real-programs": real_programs_block(md),
    }


def render(readme, figures):
    """README text with every figure block replaced; raises Missing for a block the README
    has no markers for, or markers naming no block."""
    names = re.findall(r"<!-- figures:([\w-]+) -->", readme)
    if sorted(names) != sorted(figures):
        raise Missing(
            f"README's figure blocks {sorted(names)} differ from the generated {sorted(figures)}"
        )
    for name, text in figures.items():
        begin, end = f"<!-- figures:{name} -->", f"<!-- /figures:{name} -->"
        a, b = readme.index(begin) + len(begin), readme.index(end)
        readme = readme[:a] + "\n" + text + "\n" + readme[b:]
    return readme


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--check", action="store_true", help="exit 1 when README.md differs from the results"
    )
    args = ap.parse_args()
    readme = open(README).read()
    try:
        new = render(readme, blocks())
    except (Missing, OSError, KeyError, ValueError) as e:
        print(f"readme_figures: {e}")
        return 1
    if args.check:
        if new != readme:
            import difflib

            sys.stdout.writelines(
                difflib.unified_diff(
                    readme.splitlines(True),
                    new.splitlines(True),
                    "README.md",
                    "README.md from the results",
                )
            )
            print(
                "readme_figures: README.md's figures differ from bench/RESULTS*; run bench/readme_figures.py"
            )
            return 1
        print("readme_figures: README.md's figures match bench/RESULTS*")
        return 0
    if new != readme:
        with open(README, "w") as f:
            f.write(new)
        print("readme_figures: README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())

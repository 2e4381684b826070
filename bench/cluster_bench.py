#!/usr/bin/env python3
"""The demo's classify service scaled out on a cluster of network namespaces
(tests/support/netns_cluster.py): throughput through Dapr with 1 and 2 replicas on
different hosts, and a failover run (a replica killed in the middle of a load run) with
and without the resiliency policy of deploy/resiliency/. Needs root (ip netns).

    scripts/bench-cluster [--seconds 15] [--clients 4] [--write bench/RESULTS.md]

Clients run in this process (threads, keep-alive off: one connection per request, as
the page makes them) against the web app's address on host 1, which invokes classify
through its sidecar; every request and its answer stay on the namespaces' bridge.
"""

import argparse
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
from netns_cluster import Cluster, request, wait_for  # noqa: E402
from results import replace_section  # noqa: E402

SHARED = os.environ.get("EDGECAR_SHARED_DIR", os.path.join(HERE, "..", "..", "shared"))
IMAGE = os.path.join(SHARED, "data", "images", "food.jpg")


def classify(c, data):
    return request(
        c.ip(1),
        8080,
        "POST",
        "/api/hello",
        data,
        {"api": "classify", "Accept": "application/json"},
        timeout=60,
    )[0]


def load(c, data, seconds, clients, max_requests, during=None):
    """`clients` threads send requests for `seconds` (at most max_requests in all);
    `during` runs once a third of the way in. Returns (statuses, latencies)."""
    statuses, latencies, lock = [], [], threading.Lock()
    deadline = time.time() + seconds

    def client():
        while time.time() < deadline:
            with lock:
                if len(statuses) >= max_requests:
                    return
            t0 = time.perf_counter()
            try:
                status = classify(c, data)
            except OSError as e:
                status = f"error: {e}"
            with lock:
                statuses.append(status)
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    if during:
        time.sleep(seconds / 3)
        during()
    for t in threads:
        t.join()
    return statuses, latencies


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000


def run_cluster(tmp, layout, resiliency=True):
    c = Cluster(Path(tmp), resiliency=resiliency)
    c.start(layout)
    data = open(IMAGE, "rb").read()
    wait_for(lambda: classify(c, data) == 200, what="classify through the cluster")
    for _ in range(20):  # warm-up: every replica's module loaded and its first requests served
        classify(c, data)
    return c, data


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--write")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("cluster_bench: network namespaces need root")
    cap = 20000  # requests per run, whatever the speed
    rows, failover = [], []
    for replicas in (1, 2):
        layout = {1: ["web", "classify"], 2: ["events"] + (["classify"] if replicas == 2 else [])}
        with tempfile.TemporaryDirectory() as tmp:
            c, data = run_cluster(tmp, layout)
            try:
                statuses, lat = load(c, data, args.seconds, args.clients, cap)
                per = {r.name: r.requests_served() for r in c.replicas if r.app == "classify"}
            finally:
                c.stop()
        ok = sum(1 for s in statuses if s == 200)
        rows.append(
            (
                replicas,
                len(statuses) / args.seconds,
                pct(lat, 0.5),
                pct(lat, 0.99),
                len(statuses) - ok,
                per,
            )
        )
        print(
            f"{replicas} replica(s): {len(statuses) / args.seconds:.1f} req/s, p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, "
            f"failed {len(statuses) - ok}, per replica {per}",
            flush=True,
        )
    for resiliency in (True, False):
        layout = {1: ["web", "classify"], 2: ["events", "classify"]}
        with tempfile.TemporaryDirectory() as tmp:
            c, data = run_cluster(tmp, layout, resiliency)
            try:
                victim = c.replica("classify", 2)
                statuses, lat = load(
                    c,
                    data,
                    args.seconds,
                    args.clients,
                    cap,
                    during=lambda: victim.kill(signal.SIGKILL),
                )
            finally:
                c.stop()
        ok = sum(1 for s in statuses if s == 200)
        failover.append(
            (resiliency, len(statuses), ok, len(statuses) - ok, pct(lat, 0.99), max(lat) * 1000)
        )
        print(
            f"failover ({'with' if resiliency else 'without'} the resiliency policy): {len(statuses)} sent, {ok} answered, "
            f"{len(statuses) - ok} failed, p99 {pct(lat, 0.99):.1f} ms, max {max(lat) * 1000:.0f} ms",
            flush=True,
        )

    cmd = "scripts/bench-cluster " + " ".join(sys.argv[1:])
    lines = [
        "## Scale-out on a namespace cluster (`scripts/bench-cluster`)",
        "",
        f"Command: `{cmd.strip()}`; {time.strftime('%Y-%m-%d')}; {os.cpu_count()} cores shared by every host, "
        f"the clients and Redis. classify (MobileNet through WASI-NN) called through the web app's sidecar on "
        f"host 1 by {args.clients} clients for {args.seconds:.0f} s; replicas on hosts 1 and 2 (network namespaces, "
        "mDNS discovery, Redis on host 0).",
        "",
        "| classify replicas | requests/s | p50 ms | p99 ms | failed | requests per replica |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for replicas, rps, p50, p99, failed, per in rows:
        lines.append(
            f"| {replicas} | {rps:.1f} | {p50:.1f} | {p99:.1f} | {failed} | "
            + ", ".join(f"{k}: {v}" for k, v in sorted(per.items()))
            + " |"
        )
    lines += [
        "",
        "The hosts share this machine's 2 cores, so a second replica cannot add compute: the table shows "
        "that invocations spread evenly over the hosts and what the extra hop costs, not how throughput "
        "scales on real machines (there, each replica brings its own cores).",
        "",
        "Failover: classify@h2 killed (SIGKILL, app and sidecar) a third of the way into the same load run.",
        "",
        "| resiliency policy | sent | answered | failed | p99 ms | slowest ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for resiliency, sent, ok, failed, p99, slowest in failover:
        lines.append(
            f"| {'deploy/resiliency/resiliency.yaml' if resiliency else 'none (Dapr defaults)'} | {sent} | {ok} | {failed} | {p99:.1f} | {slowest:.0f} |"
        )
    report = "\n".join(lines) + "\n"
    print()
    print(report)
    if args.write:
        replace_section(args.write, "cluster", report)
        print("wrote", args.write)


if __name__ == "__main__":
    main()

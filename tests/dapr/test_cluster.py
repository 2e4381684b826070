"""The demo scaled out across hosts: a cluster of network namespaces on this machine
(tests/support/netns_cluster.py: Redis on host 0; host 1 runs web, classify and
grayscale, host 2 classify, grayscale and events; each replica an `edgecar serve` beside
its own daprd, discovering the others by mDNS). Checks that invocations spread over the
replicas on both hosts, that state and pub/sub stay consistent across hosts, that a
replica killed in the middle of a load run costs no request (the resiliency policy of
deploy/resiliency/ retries on another replica) and takes traffic again when it comes
back, and that deploy/kubernetes/ describes the same. Every request goes to the
namespaces' addresses on this machine; request loops are bounded in count and time."""

import glob
import json
import os
import signal
import sys
import threading
import time

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from netns_cluster import ROOT, Cluster, request, wait_for  # noqa: E402
from shared_data import DATA, require  # noqa: E402

LAYOUT = {1: ["web", "classify", "grayscale"], 2: ["classify", "grayscale", "events"]}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (ip netns)")
    require("images")
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        c.start(LAYOUT)
        # Every classify and grayscale replica reachable through the web app's sidecar.
        food = open(os.path.join(DATA, "images", "food.jpg"), "rb").read()
        wait_for(lambda: hello(c, "classify", food)[0] == 200, what="classify through the cluster")
        wait_for(
            lambda: hello(c, "grayscale", food)[0] == 200, what="grayscale through the cluster"
        )
        yield c
    finally:
        c.stop()


def hello(c, api, data, accept="application/json"):
    """The page's API on host 1 (web's app port, listening on the host's address)."""
    return request(
        c.ip(1), 8080, "POST", "/api/hello", data, {"api": api, "Accept": accept}, timeout=60
    )


def served(c, app):
    return {r.name: r.requests_served() for r in c.replicas if r.app == app}


def test_invocations_spread_over_replicas_on_both_hosts(cluster):
    food = open(os.path.join(DATA, "images", "food.jpg"), "rb").read()
    for app in ("classify", "grayscale"):
        before = served(cluster, app)
        for _ in range(30):
            status, _, body = hello(cluster, app, food)
            assert status == 200, body[:300]
            if app == "classify":
                assert json.loads(body)["top"][0]["label"] == "hotdog"
        after = served(cluster, app)
        delta = {name: after[name] - before[name] for name in after}
        print(f"{app}: requests per replica {delta}")
        assert sum(delta.values()) == 30, delta
        assert len(delta) == 2 and all(n >= 3 for n in delta.values()), (
            f"not spread over both hosts: {delta}"
        )


def test_state_and_events_are_consistent_across_hosts(cluster):
    """Each classify request publishes one event (Redis pub/sub on host 0) from whichever
    replica served it; the events app on host 2 keeps them in the state store with ETags.
    Every request must appear exactly once."""
    images = sorted(
        p for p in glob.glob(os.path.join(DATA, "images", "*")) if os.path.getsize(p) < 2_000_000
    )[:6]

    def classify_events():
        events = json.loads(request(cluster.ip(1), 8080, "GET", "/api/events")[2])
        counts = {}
        for e in events:
            if e["operation"] == "classify":
                counts[e["bytes"]] = counts.get(e["bytes"], 0) + 1
        return counts, len(events)

    before, listed = classify_events()
    assert listed + 12 <= 100, "the events app keeps the latest 100: too many events already"
    sizes = {}
    for path in images:
        data = open(path, "rb").read()
        for _ in range(2):
            assert hello(cluster, "classify", data)[0] == 200
        sizes[len(data)] = sizes.get(len(data), 0) + 2

    def recorded():
        after, _ = classify_events()
        new = {n: after.get(n, 0) - before.get(n, 0) for n in sizes}
        return new == sizes or print("recorded so far:", new)

    wait_for(recorded, timeout=30, what=f"one event per request {sizes}")


def test_a_killed_replica_loses_no_request_and_comes_back(cluster):
    food = open(os.path.join(DATA, "images", "food.jpg"), "rb").read()
    victim = cluster.replica("classify", 2)
    survivor = cluster.replica("classify", 1)
    statuses, latencies = [], []
    # The replicas' counters include earlier tests' requests: every check below compares
    # with a reading taken in this test.
    victim_before, survivor_before = victim.requests_served(), survivor.requests_served()

    def load():
        deadline = time.time() + 90
        for _ in range(120):  # bounded in count and time
            if time.time() > deadline:
                break
            t0 = time.time()
            try:
                status = hello(cluster, "classify", food)[0]
            except OSError as e:
                status = f"error {e}"
            latencies.append(time.time() - t0)
            statuses.append(status)

    t = threading.Thread(target=load)
    t.start()
    wait_for(lambda: len(statuses) >= 30, timeout=60, what="30 requests before the kill")
    victim_at_kill, survivor_at_kill = victim.requests_served(), survivor.requests_served()
    victim.kill(signal.SIGKILL)
    killed_at = len(statuses)
    t.join(120)
    survivor_after = survivor.requests_served()
    failed = [s for s in statuses if s != 200]
    print(
        f"failover: {len(statuses)} requests, killed after {killed_at}, failed {len(failed)}, "
        f"slowest {max(latencies):.2f} s; victim served {victim_at_kill - victim_before} before the kill, "
        f"survivor {survivor_at_kill - survivor_before} before and {survivor_after - survivor_at_kill} after"
    )
    # Both replicas took part of the load before the kill, so the kill cost the victim's share.
    assert victim_at_kill > victim_before, "the victim served nothing before it was killed"
    assert survivor_at_kill > survivor_before, "the survivor served nothing before the kill"
    assert not failed, f"{len(failed)} of {len(statuses)} failed: {failed[:5]}"
    assert len(statuses) == 120
    # Every request answered after the kill was the survivor's (retries may add more).
    assert survivor_after - survivor_at_kill >= 120 - killed_at

    # Back: the replica's sidecar announces itself again and gets requests; traffic is
    # spread over both replicas again (the restarted process counts from zero).
    victim.start()
    survivor_at_restart = survivor.requests_served()

    def both_serve():
        for _ in range(10):
            assert hello(cluster, "classify", food)[0] == 200
        return victim.requests_served() > 0 and survivor.requests_served() > survivor_at_restart

    wait_for(
        both_serve,
        timeout=60,
        interval=0.5,
        what="the restarted replica and the survivor to share traffic",
    )


def test_kubernetes_manifests_describe_the_same_cluster(cluster):
    """deploy/kubernetes/: the apps that run as replicas here have replicas there, the same
    resiliency policy, readiness from /healthz on the app port the sidecar uses."""
    docs = [
        d
        for f in ("demo.yaml", "components.yaml")
        for d in yaml.safe_load_all(open(os.path.join(ROOT, "deploy", "kubernetes", f)))
        if d
    ]
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    ran = {}
    for r in cluster.replicas:
        ran[r.app] = ran.get(r.app, 0) + 1
    for app, count in ran.items():
        d = deployments[app]
        annotations = d["spec"]["template"]["metadata"]["annotations"]
        container = d["spec"]["template"]["spec"]["containers"][0]
        assert annotations["dapr.io/app-id"] == app
        assert d["spec"]["replicas"] >= count, (
            f"{app}: {count} replicas in the cluster test, {d['spec']['replicas']} in Kubernetes"
        )
        assert container["readinessProbe"]["httpGet"] == {
            "path": "/healthz",
            "port": int(annotations["dapr.io/app-port"]),
        }
        assert int(annotations["dapr.io/app-port"]) == next(
            r.app_port for r in cluster.replicas if r.app == app
        )
    resiliency = [d for d in docs if d["kind"] == "Resiliency"]
    ours = yaml.safe_load(open(os.path.join(ROOT, "deploy", "resiliency", "resiliency.yaml")))
    assert len(resiliency) == 1 and resiliency[0]["spec"] == ours["spec"], (
        "deploy/kubernetes/ and deploy/resiliency/ differ"
    )

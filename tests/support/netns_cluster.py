"""A small multi-host Dapr cluster on one machine: one network namespace per host, a
bridge between them (each host its own IP on 10.250.N.0/24), Redis on host 0 and, on
the other hosts, replicas of the demo's apps, each an `edgecar serve` beside its own
`daprd`. Used by tests/dapr/test_cluster.py and bench/cluster_bench.py; needs root (ip
netns). Every process, interface and namespace it makes is removed by stop().

Discovery is mDNS, as Dapr does across machines in self-hosted mode: each daprd
announces its app id and its host's address (DAPR_HOST_IP) on the bridge, a LAN, and
resolves other apps' replicas from the answers. (The single-host setups use the SQLite
resolver, which Dapr documents as one machine only: a shared file is no way for hosts
to find each other.) Each host has a route for multicast on its interface and no other
route out: all traffic stays on the bridge.
"""

import http.client
import os
import signal
import subprocess
import time
import warnings

from edgecar_server import absolute_paths, stop_processes, wait_for  # noqa: F401 (wait_for: for the users of this module)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("EDGECAR_BIN", os.path.join(ROOT, "build", "edgecar")))

# Ports of each app on its host (hosts have their own port spaces, so replicas on
# different hosts use the same ones): app, daprd HTTP, gRPC, internal gRPC.
PORTS = {
    "web": (8080, 3500, 50001, 50002),
    "grayscale": (8081, 3501, 50011, 50012),
    "classify": (8082, 3502, 50021, 50022),
    "events": (8083, 3503, 50031, 50032),
}
REDIS_PORT = 6379


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def request(host, port, method, path, body=None, headers=None, timeout=30):
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


class Replica:
    """One app on one host: its edgecar serve and its daprd."""

    def __init__(self, cluster, host, app):
        self.cluster, self.host, self.app = cluster, host, app
        self.app_port, self.http_port, self.grpc_port, self.internal_port = PORTS[app]
        self.procs = []
        self.starts = 0

    @property
    def name(self):
        return f"{self.app}@h{self.host}"

    @property
    def ip(self):
        return self.cluster.ip(self.host)

    def start(self, attempts=2):
        """Starts the replica and waits for its sidecar. As a supervisor (Kubernetes, systemd)
        would (after a 3 s back-off), a replica whose sidecar exits or does not answer within 45 s is killed and
        started again, once; the failed attempt's logs are kept and reported as a warning
        (or in the failure, when no attempt works)."""
        failures = []
        for attempt in range(attempts):
            if attempt:
                time.sleep(3)  # a supervisor's back-off
            suffix = self.launch()
            daprd = self.procs[1]

            def ready():
                if daprd.poll() is not None:
                    raise AssertionError(f"{self.name}'s daprd exited with {daprd.returncode}")
                return request(self.ip, self.http_port, "GET", "/v1.0/healthz", timeout=2)[0] == 204

            try:
                wait_for(ready, timeout=45, what=f"{self.name}'s daprd")
                break
            except AssertionError as e:
                failures.append(f"{e}\n{self.report(suffix)}")
                self.kill()
        else:
            raise AssertionError("\n".join(failures))
        if failures:
            warnings.warn(
                f"{self.name} came up on attempt {len(failures) + 1}; the failed attempt:\n{failures[0]}"
            )
        return self

    def launch(self):
        """Runs the app's edgecar serve and its daprd; returns the suffix of their logs'
        names (a restart keeps the earlier runs' logs)."""
        c = self.cluster
        manifest = c.tmp / f"{self.app}.yaml"
        if not manifest.exists():
            demo = os.path.join(ROOT, "demo")
            text = absolute_paths(open(os.path.join(demo, f"{self.app}.yaml")).read(), demo)
            manifest.write_text(text)
        env = {
            "DAPR_HTTP_PORT": str(self.http_port),
            "DAPR_GRPC_PORT": str(self.grpc_port),
            "APP_ID": self.app,
        }
        self.starts += 1
        suffix = "" if self.starts == 1 else f"-{self.starts}"
        self.procs = [
            c.run(
                self.host,
                f"{self.name}-edgecar{suffix}",
                [BIN, "serve", str(manifest), "--port", str(self.app_port)],
                env,
            ),
            c.run(
                self.host,
                f"{self.name}-daprd{suffix}",
                [
                    c.daprd,
                    "--app-id",
                    self.app,
                    "--app-port",
                    str(self.app_port),
                    "--app-protocol",
                    "http",
                    "--dapr-http-port",
                    str(self.http_port),
                    "--dapr-grpc-port",
                    str(self.grpc_port),
                    "--dapr-internal-grpc-port",
                    str(self.internal_port),
                    "--dapr-listen-addresses",
                    "0.0.0.0",
                    "--enable-metrics=false",
                    "--resources-path",
                    str(c.components),
                    "--config",
                    str(c.config),
                    "--log-level",
                    "warn",
                    "--enable-app-health-check",
                    "--app-health-check-path",
                    "/healthz",
                    "--app-health-probe-interval",
                    "1",
                ],
                {"DAPR_HOST_IP": self.ip},
            ),
        ]
        return suffix

    def report(self, suffix=""):
        """Each process's state and the end of its log, for a failure's message."""
        lines = []
        for kind, p in zip(("edgecar", "daprd"), self.procs):
            name = f"{self.name}-{kind}{suffix}"
            state = "running" if p.poll() is None else f"exited with {p.returncode}"
            tail = self.cluster.log(name).splitlines()[-25:]
            lines.append(f"--- {name} ({state}), last lines of its log:")
            lines.extend(tail)
        return "\n".join(lines)

    def kill(self, sig=signal.SIGKILL):
        """Ends the replica at once (app and sidecar), as when its host fails."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(sig)
        for p in self.procs:
            p.wait(15)

    def requests_served(self):
        """Requests this replica's edgecar answered (its /metrics, read inside its host)."""
        out = self.cluster.exec(
            self.host,
            ["curl", "-s", "--max-time", "5", f"http://127.0.0.1:{self.app_port}/metrics"],
        )
        total = 0
        for line in out.splitlines():
            if line.startswith("edgecar_requests_total{"):
                total += int(float(line.rsplit(" ", 1)[1]))
        return total


class Cluster:
    def __init__(self, tmp, hosts=3, daprd=None, resiliency=True):
        self.tmp = tmp
        self.resiliency = resiliency
        self.tag = os.getpid() % 200 + 20
        self.subnet = f"10.250.{self.tag}"
        self.bridge = f"ecbr{self.tag}"
        self.hosts = [f"ec{self.tag}h{i}" for i in range(hosts)]
        self.procs = []
        self.replicas = []
        self.daprd = (
            daprd
            or subprocess.run(
                [os.path.join(ROOT, "scripts", "install-dapr")],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        self.up = False

    def ip(self, host):
        return f"{self.subnet}.{host + 1}"

    def start_network(self):
        self.stop_network()  # leftovers of a run that was killed
        self.up = True
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.subnet}.254/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for i, ns in enumerate(self.hosts):
            veth = f"ec{self.tag}v{i}"
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", veth, "master", self.bridge, "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.ip(i)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0")  # mDNS

    def stop_network(self):
        for ns in self.hosts:
            sh("ip", "netns", "del", ns, check=False)
        sh("ip", "link", "del", self.bridge, check=False)

    def write_resources(self):
        """Redis (host 0) for state and pub/sub, the resiliency policy, mDNS discovery."""
        self.components = self.tmp / "components"
        self.components.mkdir(exist_ok=True)
        redis = f"{self.ip(0)}:{REDIS_PORT}"
        for name in ("statestore.yaml", "pubsub.yaml"):
            text = open(os.path.join(ROOT, "deploy", "components", "redis", name)).read()
            (self.components / name).write_text(text.replace("localhost:6390", redis))
        if self.resiliency:
            text = open(os.path.join(ROOT, "deploy", "resiliency", "resiliency.yaml")).read()
            (self.components / "resiliency.yaml").write_text(text)
        self.config = self.tmp / "config.yaml"
        self.config.write_text(
            "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cluster\n"
            "spec:\n  nameResolution:\n    component: mdns\n"
        )

    def run(self, host, name, cmd, env=None):
        log = open(self.tmp / f"{name}.log", "w")
        p = subprocess.Popen(
            ["ip", "netns", "exec", self.hosts[host], *cmd],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, **(env or {})),
            cwd=ROOT,
        )
        self.procs.append((name, p, log))
        return p

    def exec(self, host, cmd):
        return sh("ip", "netns", "exec", self.hosts[host], *cmd, check=False).stdout

    def log(self, name):
        return (self.tmp / f"{name}.log").read_text()

    def start(self, layout):
        """layout: {host index: [app, ...]} for hosts 1..; Redis goes on host 0."""
        self.start_network()
        self.write_resources()
        self.run(
            0,
            "redis",
            [
                "redis-server",
                "--bind",
                self.ip(0),
                "--port",
                str(REDIS_PORT),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],
        )
        wait_for(
            lambda: (
                "PONG"
                in self.exec(0, ["redis-cli", "-h", self.ip(0), "-p", str(REDIS_PORT), "ping"])
            ),
            what="redis on host 0",
        )
        for host, apps in layout.items():
            for app in apps:
                self.replicas.append(Replica(self, host, app).start())
        return self

    def replica(self, app, host):
        return next(r for r in self.replicas if r.app == app and r.host == host)

    def stop(self):
        stop_processes(self.procs)
        if self.up:
            self.stop_network()

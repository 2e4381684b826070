#!/usr/bin/env python3
"""`dapr run` for edgecar apps, with the real daprd (scripts/install-dapr) and no Dapr CLI.

    scripts/dapr-run [run] --app-id ID [dapr run flags] -- COMMAND...
    scripts/dapr-run [run] -f FILE|DIR           a Multi-App Run file (DIR/dapr.yaml)
    scripts/dapr-run APP_ID MANIFEST [--app-port P] [--http-port H] [--grpc-port G]
                     [--internal-port I] [--redis]   the earlier form (edgecar serve MANIFEST)

The flags mean what they mean to `dapr run`: --app-id/-a, --app-port/-p,
--app-protocol/-P (http: edgecar apps speak HTTP), --dapr-http-port/-H (default 3500),
--dapr-grpc-port/-G (default: a free port), --dapr-internal-grpc-port, --resources-path/-d
and its older name --components-path (repeatable; default deploy/components/sqlite and
deploy/components/common), --config/-c (default deploy/config.yaml), --log-level
(daprd's), --enable-app-health-check, --app-health-check-path, --app-channel-address,
--metrics-port. The app gets APP_ID, APP_PORT, APP_PROTOCOL, DAPR_HTTP_PORT and
DAPR_GRPC_PORT, as the CLI sets them. Output lines are prefixed `== APP - id ==` and
`== DAPR - id ==` as the CLI prints them. Ctrl-C or SIGTERM stops every process started;
so does the exit of any of them.
"""

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_RESOURCES = ["deploy/components/sqlite", "deploy/components/common"]
DEFAULT_CONFIG = "deploy/config.yaml"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """One app and its sidecar, as `dapr run` starts them."""

    def __init__(
        self,
        app_id,
        command,
        cwd=ROOT,
        app_port=None,
        app_protocol="http",
        http_port=3500,
        grpc_port=None,
        internal_grpc_port=None,
        resources=None,
        config=DEFAULT_CONFIG,
        log_level="warn",
        health_check=False,
        health_path=None,
        channel_address=None,
        metrics_port=None,
        env=None,
    ):
        if app_protocol not in ("http", "https"):
            raise SystemExit(
                f"dapr-run: {app_id}: app protocol {app_protocol!r}: edgecar apps speak HTTP"
            )
        self.app_id, self.command, self.cwd = app_id, command, cwd
        self.app_port, self.app_protocol = app_port, app_protocol
        self.http_port = http_port
        self.grpc_port = grpc_port or free_port()
        self.internal_grpc_port = internal_grpc_port or free_port()
        self.resources = resources or DEFAULT_RESOURCES
        self.config, self.log_level = config, log_level
        self.health_check, self.health_path = health_check, health_path
        self.channel_address, self.metrics_port = channel_address, metrics_port
        self.env = env or {}

    def daprd_args(self, daprd):
        a = [
            daprd,
            "--app-id",
            self.app_id,
            "--app-protocol",
            self.app_protocol,
            "--dapr-http-port",
            str(self.http_port),
            "--dapr-grpc-port",
            str(self.grpc_port),
            "--dapr-internal-grpc-port",
            str(self.internal_grpc_port),
            "--log-level",
            self.log_level,
        ]
        if self.app_port:
            a += ["--app-port", str(self.app_port)]
        if self.config:
            a += ["--config", self.config]
        for r in self.resources:
            a += ["--resources-path", r]
        if self.metrics_port:
            a += ["--metrics-port", str(self.metrics_port)]
        else:
            a += ["--enable-metrics=false"]
        if self.health_check or self.health_path:
            a += ["--enable-app-health-check"]
            if self.health_path:
                a += ["--app-health-check-path", self.health_path]
        if self.channel_address:
            a += ["--app-channel-address", self.channel_address]
        return a

    def app_env(self):
        env = dict(os.environ)
        env.update({k: str(v) for k, v in self.env.items()})
        env.update(
            {
                "APP_ID": self.app_id,
                "APP_PROTOCOL": self.app_protocol,
                "DAPR_HTTP_PORT": str(self.http_port),
                "DAPR_GRPC_PORT": str(self.grpc_port),
            }
        )
        if self.app_port:
            env["APP_PORT"] = str(self.app_port)
        return env


class Runner:
    """Starts processes in their own process groups, prefixes their output, stops them all."""

    def __init__(self):
        self.procs = []  # (label, Popen)
        self.lock = threading.Lock()
        self.stopping = False

    def start(self, label, args, cwd, env=None):
        p = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append((label, p))
        threading.Thread(target=self.pump, args=(label, p), daemon=True).start()
        return p

    def pump(self, label, p):
        for line in iter(p.stdout.readline, b""):
            with self.lock:
                sys.stdout.write(f"== {label} == {line.decode(errors='replace')}")
                sys.stdout.flush()

    def stop(self, timeout=10):
        self.stopping = True
        for _, p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for _, p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()

    def wait_any(self):
        """Until a process exits (its code) or a signal asks to stop (None)."""
        while not self.stopping:
            for label, p in self.procs:
                code = p.poll()
                if code is not None:
                    print(
                        f"dapr-run: {label} exited with {code}; stopping the others",
                        file=sys.stderr,
                    )
                    return code
            time.sleep(0.2)
        return None


def daprd_path():
    r = subprocess.run(
        [os.path.join(ROOT, "scripts", "install-dapr")], capture_output=True, text=True
    )
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit("dapr-run: could not install daprd (scripts/install-dapr)")
    return r.stdout.strip().splitlines()[-1]


def run(apps):
    daprd = daprd_path()
    os.makedirs(os.path.join(ROOT, "build", "dapr"), exist_ok=True)
    runner = Runner()
    signal.signal(signal.SIGINT, lambda *_: setattr(runner, "stopping", True))
    signal.signal(signal.SIGTERM, lambda *_: setattr(runner, "stopping", True))
    try:
        for app in apps:
            # daprd starts where the CLI starts it (relative component paths resolve from
            # there); the app starts in its directory.
            runner.start(f"DAPR - {app.app_id}", app.daprd_args(daprd), cwd=ROOT)
            if app.command:
                runner.start(f"APP - {app.app_id}", app.command, cwd=app.cwd, env=app.app_env())
            print(
                f"dapr-run: {app.app_id}: app on port {app.app_port}, daprd HTTP on {app.http_port}, "
                f"gRPC on {app.grpc_port}",
                file=sys.stderr,
            )
        code = runner.wait_any()
    finally:
        runner.stop()
    return 0 if code is None else code


def single(argv):
    p = argparse.ArgumentParser(
        prog="scripts/dapr-run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-a", "--app-id", required=True)
    p.add_argument("-p", "--app-port", type=int)
    p.add_argument("-P", "--app-protocol", default="http")
    p.add_argument("-H", "--dapr-http-port", type=int, default=3500)
    p.add_argument("-G", "--dapr-grpc-port", type=int)
    p.add_argument("--dapr-internal-grpc-port", type=int)
    p.add_argument("-d", "--resources-path", "--components-path", action="append", dest="resources")
    p.add_argument("-c", "--config", default=DEFAULT_CONFIG)
    p.add_argument("--log-level", default="warn")
    p.add_argument("--enable-app-health-check", action="store_true")
    p.add_argument("--app-health-check-path")
    p.add_argument("--app-channel-address")
    p.add_argument("-M", "--metrics-port", type=int)
    p.add_argument("command", nargs=argparse.REMAINDER)
    command = []
    if "--" in argv:  # the app's command line, as the CLI takes it
        command = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    a = p.parse_args(argv)
    command = command or a.command
    resources = [os.path.abspath(r) for r in a.resources] if a.resources else None
    return [
        App(
            a.app_id,
            command,
            os.getcwd(),
            a.app_port,
            a.app_protocol,
            a.dapr_http_port,
            a.dapr_grpc_port,
            a.dapr_internal_grpc_port,
            resources,
            os.path.join(ROOT, a.config)
            if a.config == DEFAULT_CONFIG
            else os.path.abspath(a.config),
            a.log_level,
            a.enable_app_health_check,
            a.app_health_check_path,
            a.app_channel_address,
            a.metrics_port,
        )
    ]


def multi(path):
    """Apps of a Multi-App Run file (the CLI's documented format, version 1)."""
    if os.path.isdir(path):
        path = os.path.join(path, "dapr.yaml")
    with open(path) as f:
        doc = yaml.safe_load(f)
    if (
        not isinstance(doc, dict)
        or doc.get("version") != 1
        or not isinstance(doc.get("apps"), list)
    ):
        raise SystemExit(f"dapr-run: {path}: not a Multi-App Run file (version: 1 and apps: [...])")
    base = os.path.dirname(os.path.abspath(path))
    common = doc.get("common") or {}

    def setting(app, key, default=None):
        return app.get(key, common.get(key, default))

    def paths(app):
        value = (
            app.get("resourcesPaths")
            or app.get("resourcesPath")
            or common.get("resourcesPaths")
            or common.get("resourcesPath")
        )
        if value is None:
            return None
        return [os.path.join(base, p) for p in ([value] if isinstance(value, str) else value)]

    apps = []
    for i, app in enumerate(doc["apps"]):
        if "appID" not in app:
            raise SystemExit(f"dapr-run: {path}: apps[{i}] has no appID")
        command = app.get("command") or []
        if isinstance(command, str):
            command = shlex.split(command)
        config = setting(app, "configFilePath")
        env = dict(common.get("env") or {})
        env.update(app.get("env") or {})
        apps.append(
            App(
                app["appID"],
                command,
                os.path.join(base, app.get("appDirPath", ".")),
                setting(app, "appPort"),
                setting(app, "appProtocol", "http"),
                app.get("daprHTTPPort", 3500 + i),
                app.get("daprGRPCPort"),
                app.get("daprInternalGRPCPort"),
                paths(app),
                os.path.join(base, config) if config else DEFAULT_CONFIG,
                setting(app, "logLevel", "warn"),
                bool(setting(app, "enableAppHealthCheck", False)),
                setting(app, "appHealthCheckPath"),
                setting(app, "appChannelAddress"),
                setting(app, "metricsPort"),
                env,
            )
        )
    return apps


def legacy(argv):
    """The earlier form: APP_ID MANIFEST [options], the app being `edgecar serve MANIFEST`."""
    p = argparse.ArgumentParser(prog="scripts/dapr-run APP_ID MANIFEST")
    p.add_argument("app_id")
    p.add_argument("manifest")
    p.add_argument("--app-port", type=int)
    p.add_argument("--http-port", type=int, default=3500)
    p.add_argument("--grpc-port", type=int)
    p.add_argument("--internal-port", type=int)
    p.add_argument("--redis", action="store_true")
    a = p.parse_args(argv)
    with open(a.manifest) as f:
        manifest = yaml.safe_load(f) or {}
    # A server guest (`server:`) listens on its own port and has no /healthz: daprd checks
    # nothing but reaching it, and serve is not told a port.
    server = manifest.get("server") if isinstance(manifest.get("server"), dict) else None
    port = a.app_port
    if port is None and server:
        port = int(server.get("port", 0)) or None
    if port is None:
        listen = str(manifest.get("listen", ""))
        if ":" not in listen:
            raise SystemExit(f"dapr-run: no listen port in {a.manifest}; pass --app-port")
        port = int(listen.rsplit(":", 1)[1])
    edgecar = os.environ.get("EDGECAR_BIN", os.path.join(ROOT, "build", "edgecar"))
    command = [edgecar, "serve", *shlex.split(os.environ.get("EDGECAR_ARGS", "")), a.manifest]
    if not server:
        command += ["--port", str(port)]
    resources = [
        f"deploy/components/{'redis' if a.redis else 'sqlite'}",
        "deploy/components/common",
    ]
    return [
        App(
            a.app_id,
            command,
            os.getcwd(),
            port,
            "http",
            a.http_port,
            a.grpc_port,
            a.internal_port,
            resources,
            DEFAULT_CONFIG,
            os.environ.get("DAPR_LOG_LEVEL", "warn"),
            not server,
            None if server else "/healthz",
        )
    ]


def main(argv):
    if argv[:1] == ["run"]:
        argv = argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    if argv[0] == "-f" or argv[0].startswith("--run-file"):
        if len(argv) < 2:
            raise SystemExit("dapr-run: -f needs a file or a directory")
        return run(multi(argv[1]))
    if not argv[0].startswith("-"):
        return run(legacy(argv))
    return run(single(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

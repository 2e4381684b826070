"""Test support shared by the Python test suites: an `edgecar serve` process on a free
port, driven through real HTTP clients."""

import http.client
import os
import re
import signal
import socket
import subprocess
import time

BIN = os.path.abspath(os.environ.get("EDGECAR_BIN", "build/edgecar"))


class Server:
    def __init__(self, tmp_path, manifest_text, extra_args=(), preexec_fn=None, aot_cache=None):
        self.manifest = tmp_path / "edgecar.yaml"
        self.manifest.write_text(manifest_text)
        self.log_path = tmp_path / "server.log"
        self.log = open(self.log_path, "w")
        # Native code is cached per test (tmp_path/aot-cache unless given): a test sees the
        # tiers it sets up, never what an earlier run left in the user's cache.
        env = dict(os.environ, EDGECAR_AOT_CACHE=str(aot_cache or tmp_path / "aot-cache"))
        self.proc = subprocess.Popen(
            [BIN, "serve", str(self.manifest), "--port", "0", *extra_args],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
            env=env,
        )
        deadline = time.time() + 20
        self.port = None
        while time.time() < deadline and self.port is None:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.log_path.read_text())
            for line in self.log_path.read_text().splitlines():
                if "serving" in line and "http://" in line:
                    self.port = int(line.rsplit(":", 1)[1])
            time.sleep(0.02)
        assert self.port, "server did not start: " + self.log_path.read_text()

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def raw(self, data, read=True):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(data)
        out = b""
        if read:
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except socket.timeout:
                pass
        s.close()
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        self.log.close()


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def port_free(port):
    """Nothing listens on 127.0.0.1:port (connections of an earlier run in TIME_WAIT do
    not count, as for any server that sets SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def stop_processes(procs):
    """Stops (name, Popen, log file) triples: TERM to all, newest first, then KILL to any
    still running after 15 s; closes the logs."""
    for _, p, _ in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for _, p, log in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()


def wait_for(fn, timeout=30, interval=0.2, what="condition"):
    """fn()'s first true answer within timeout seconds; connection errors count as no."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, http.client.HTTPException) as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}: {last}")


def absolute_paths(text, manifest_dir):
    """A manifest's paths relative to its directory made absolute, for a copy elsewhere:
    ../ prefixes, and the model and labels in the demo's own models/ directory."""
    text = re.sub(
        r"(?<![\w./])((?:\.\./)+)",
        lambda m: os.path.normpath(os.path.join(manifest_dir, m.group(1))) + "/",
        text,
    )
    return text.replace("cpu:models/", f"cpu:{manifest_dir}/models/").replace(
        '"models:', f'"{manifest_dir}/models:'
    )


class Apps(Server):
    """Several apps in one `edgecar serve` process, from the demo's manifests (paths made
    absolute, every app on a free port); `port` is the named app's."""

    def __init__(self, tmp_path, names, main="web", overrides=None, env=None, manifest_dir=None):
        manifest_dir = manifest_dir or os.path.join(ROOT, "demo")
        self.paths = []
        for name in names:
            text = open(os.path.join(manifest_dir, name + ".yaml")).read()
            for old, new in (overrides or {}).get(name, []):
                assert old in text, old
                text = text.replace(old, new)
            text = absolute_paths(text, manifest_dir)
            lines = [
                ("listen: 127.0.0.1:0" if line.startswith("listen:") else line)
                for line in text.splitlines()
            ]
            text = "\n".join(lines) + "\n"
            path = tmp_path / (name + ".yaml")
            path.write_text(text)
            self.paths.append(str(path))
        self.log_path = tmp_path / "server.log"
        self.log = open(self.log_path, "w")
        full_env = dict(os.environ, **(env or {}))
        full_env.pop("DAPR_HTTP_PORT", None)
        self.proc = subprocess.Popen(
            [BIN, "serve", *self.paths], stdout=self.log, stderr=subprocess.STDOUT, env=full_env
        )
        self.ports = {}
        deadline = time.time() + 30
        while time.time() < deadline and len(self.ports) < len(names):
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.log_path.read_text())
            for line in self.log_path.read_text().splitlines():
                if "serving" in line and "http://" in line:
                    self.ports[line.split("serving ")[1].split(" ")[0]] = int(
                        line.rsplit(":", 1)[1]
                    )
            time.sleep(0.02)
        assert len(self.ports) == len(names), "apps did not start: " + self.log_path.read_text()
        self.port = self.ports[main]

"""Test support shared by the Python test suites: an `edgecar serve` process on a free
port, driven through real HTTP clients."""
import http.client
import os
import signal
import socket
import subprocess
import time

BIN = os.path.abspath(os.environ.get("EDGECAR_BIN", "build/edgecar"))


class Server:
    def __init__(self, tmp_path, manifest_text, extra_args=()):
        self.manifest = tmp_path / "edgecar.yaml"
        self.manifest.write_text(manifest_text)
        self.log_path = tmp_path / "server.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([BIN, "serve", str(self.manifest), "--port", "0", *extra_args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
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

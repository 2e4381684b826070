"""The original demo's approach as a baseline: a small HTTP server that starts a
WebAssembly runtime process (`edgecar run`) for every request and returns its stdout.
Usage: spawn_server.py PORT EDGECAR MODULE"""

import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, edgecar, module = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        out = subprocess.run([edgecar, "run", module], capture_output=True).stdout
        body = out.split(b"\n\n", 1)[-1]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()

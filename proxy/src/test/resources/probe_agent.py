#!/usr/bin/env python3
"""Test sandbox that reports what it can reach, for IsolationProcessIT.

GET /read?path=P      {"ok": true, "data": first 200 chars} or {"ok": false, "error": ...}
GET /write?path=P     {"ok": ...} after trying to create P
GET /env?name=N       {"value": os.environ.get(N)}
GET /signal?pid=N     {"ok": ...} whether kill(N, 0) worked
GET /connect?port=N   {"ok": ...} whether 127.0.0.1:N accepts a connection
GET /procs            {"count": number of entries in /proc that are pids}
GET /uid              {"uid": os.getuid()}
"""
import json, os, socket, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class H(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        try:
            if u.path == "/read":
                with open(q["path"], "rb") as f:
                    out = {"ok": True, "data": f.read(200).decode("utf-8", "replace")}
            elif u.path == "/write":
                with open(q["path"], "w") as f:
                    f.write("x")
                out = {"ok": True}
            elif u.path == "/env":
                out = {"value": os.environ.get(q["name"])}
            elif u.path == "/signal":
                os.kill(int(q["pid"]), 0)
                out = {"ok": True}
            elif u.path == "/connect":
                socket.create_connection(("127.0.0.1", int(q["port"])), 2).close()
                out = {"ok": True}
            elif u.path == "/uid":
                out = {"uid": os.getuid()}
            elif u.path == "/procs":
                out = {"count": sum(1 for e in os.listdir("/proc") if e.isdigit())}
            else:
                out = {"port": self.server.server_address[1]}
        except Exception as e:
            out = {"ok": False, "error": type(e).__name__ + ": " + str(e)}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()

#!/usr/bin/env python3
"""Echo agent: the demo/test sandbox program of the default ``echo`` AgentRuntime.

The proxy starts this script as a local process with the env var ``PORT`` set
and forwards invocations to it.  It is a test fixture, not a real agent: it
echoes requests back and offers a few endpoints that exercise streaming,
slow responses, large transfers, WebSockets and process exit.

Environment:
  PORT       required, 1-65535; exits with code 2 if missing or invalid
  ECHO_HOST  optional bind host (default 127.0.0.1)

Endpoints (paths are matched exactly, the query string may be anything):
  any method, any other path   200 JSON echo: method, path, query, rawQuery,
                               headers, body, bodyBytes, bodySha256, pid, port
                               (bodies are streamed in 64 KiB pieces; both
                               Content-Length and chunked bodies work; "body"
                               is null if over 64 KiB or not UTF-8)
  GET  /sse?n=5&interval=0.2   n Server-Sent Events  data: {"seq": i}
  GET  /chunked?n=5&interval=0.2&size=16
                               n chunks of `size` bytes ("chunk-<i>...")
  any  /slow?seconds=2         sleeps, then answers the JSON echo
  GET  /download?bytes=N       N bytes of application/octet-stream (default 1 MiB)
  GET  /ws  (Upgrade: websocket)
                               WebSocket echo (text/binary, ping -> pong)
  POST /exit?code=0            answers {"exiting": true}, then exits with `code`
  GET  /env?name=VAR           {"name": VAR, "value": <its value or null>}

Errors are JSON: {"error": "...", "code": "BAD_REQUEST" | "INTERNAL" | ...}.
Only the Python 3 standard library is used.
"""

import hashlib
import json
import os
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CHUNK = 64 * 1024                   # read/write granularity for bodies
BODY_KEEP = 65536                   # at most this many body bytes are echoed
DOWNLOAD_BLOCK = bytes(range(256)) * (CHUNK // 256)
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WS_MAX_PAYLOAD = 16 * 1024 * 1024   # larger WebSocket frames are refused (1009)


class HttpError(Exception):
    """An error answered as JSON with the given status."""

    def __init__(self, status, message, code="BAD_REQUEST"):
        super().__init__(message)
        self.status = status
        self.code = code


class ClientGone(Exception):
    """The peer vanished or sent a truncated message; nothing left to answer."""


class WsClose(Exception):
    """Close the WebSocket with this status code and reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


def _param(query, name, default, conv, lo, hi):
    """Numeric query parameter `name` (last value wins), checked to lie in [lo, hi]."""
    values = query.get(name)
    if not values or values[-1] == "":
        return default
    try:
        value = conv(values[-1])
    except ValueError:
        raise HttpError(400, f"query parameter {name!r} must be a number") from None
    if not lo <= value <= hi:  # also rejects nan
        raise HttpError(400, f"query parameter {name!r} must be between {lo} and {hi}")
    return value


def _unmask(data, mask):
    """XOR a WebSocket payload with its 4-byte mask (done on big ints: fast)."""
    n = len(data)
    if not n:
        return data
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive; every response has a length or is chunked

    def version_string(self):
        return "echo-agent/1.0"

    # ---- logging: silent except for errors ----------------------------------

    def log_message(self, format, *args):
        pass

    def log_error(self, format, *args):
        sys.stderr.write("echo_agent: %s %s\n" % (self.address_string(), format % args))
        sys.stderr.flush()

    def end_headers(self):
        self._sent = True           # from here on an error can no longer be answered
        super().end_headers()

    # ---- dispatch -------------------------------------------------------------

    def _dispatch(self):
        self._sent = False          # also resets after a "100 Continue"
        self._body_done = False
        try:
            self._route()
        except (ClientGone, ConnectionError):
            self.close_connection = True
        except HttpError as e:
            self._fail(e.status, str(e), e.code)
        except Exception as e:  # never let one request kill the server
            import traceback
            self.log_error("internal error on %s %r", self.command, self.path)
            traceback.print_exc()
            self._fail(500, f"{type(e).__name__}: {e}", "INTERNAL")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _fail(self, status, message, code):
        if self._sent:              # response already started: just drop the connection
            self.close_connection = True
            return
        try:
            # If the request body was not consumed the connection cannot be reused.
            self._send_json(status, {"error": message, "code": code},
                            head=self.command == "HEAD", close=not self._body_done)
        except OSError:
            self.close_connection = True

    def _route(self):
        if self.path.startswith("/"):
            path, _, raw_query = self.path.partition("?")
        else:                       # absolute-form request target
            parts = urlsplit(self.path)
            path, raw_query = parts.path or "/", parts.query
        query = parse_qs(raw_query, keep_blank_values=True)
        method = self.command

        if method == "GET" and path == "/ws" and \
                "websocket" in self.headers.get("Upgrade", "").lower():
            return self._websocket()

        body = self._read_body()
        self._body_done = True

        if method == "GET" and path == "/sse":
            return self._sse(query)
        if method == "GET" and path == "/chunked":
            return self._chunked(query)
        if method == "GET" and path == "/download":
            return self._download(query)
        if method == "POST" and path == "/exit":
            return self._exit(query)
        if method == "GET" and path == "/env":
            # What the platform gave this sandbox, e.g. /env?name=PORT.
            name = query.get("name", [""])[0]
            return self._send_json(200, {"name": name, "value": os.environ.get(name)})
        if path == "/slow":
            time.sleep(_param(query, "seconds", 2.0, float, 0.0, 3600.0))

        headers = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        echo = {
            "method": method,
            "path": path,
            "query": query,
            "rawQuery": raw_query,
            "headers": headers,
            **body,
            "pid": os.getpid(),
            "port": self.server.server_address[1],
            "peer": "%s:%d" % self.client_address[:2],   # the connection this request came on
        }
        self._send_json(200, echo, head=method == "HEAD")

    # ---- request body (streamed; never held in memory) -----------------------

    def _read_body(self):
        sha = hashlib.sha256()
        kept = bytearray()
        total = 0

        def feed(data):
            nonlocal total
            sha.update(data)
            total += len(data)
            if len(kept) < BODY_KEEP:
                kept.extend(data[:BODY_KEEP - len(kept)])

        te = self.headers.get("Transfer-Encoding")
        cl = self.headers.get("Content-Length")
        if te is not None:
            if [c.strip().lower() for c in te.split(",")] != ["chunked"]:
                raise HttpError(501, f"unsupported Transfer-Encoding: {te}", "NOT_IMPLEMENTED")
            self._read_chunked(feed)
        elif cl is not None:
            cl = cl.strip()
            if not (cl.isascii() and cl.isdigit()):
                raise HttpError(400, f"invalid Content-Length: {cl!r}")
            self._read_exact(int(cl), feed)

        body = None
        if total <= BODY_KEEP:
            try:
                body = kept.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return {"body": body, "bodyBytes": total, "bodySha256": sha.hexdigest()}

    def _read_exact(self, n, feed):
        while n > 0:
            data = self.rfile.read(min(CHUNK, n))
            if not data:
                raise ClientGone()
            feed(data)
            n -= len(data)

    def _read_chunked(self, feed):
        while True:
            line = self.rfile.readline(1026)
            if not line:
                raise ClientGone()
            size = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not size or \
                    size.strip(b"0123456789abcdefABCDEF") != b"":
                raise HttpError(400, "malformed chunk size line")
            size = int(size, 16)
            if size == 0:
                break
            self._read_exact(size, feed)
            if self.rfile.read(2) != b"\r\n":
                raise HttpError(400, "chunk data not followed by CRLF")
        while True:                 # skip trailer fields up to the empty line
            line = self.rfile.readline(8194)
            if not line:
                raise ClientGone()
            if line in (b"\r\n", b"\n"):
                return

    # ---- responses ------------------------------------------------------------

    def _send_json(self, status, obj, head=False, close=False):
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")  # also sets close_connection
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _start_stream(self, content_type, extra=()):
        # Chunked for HTTP/1.1; HTTP/1.0 clients get a close-delimited body.
        self._te_chunked = self.request_version not in ("HTTP/1.0", "HTTP/0.9")
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        if self._te_chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
        self.end_headers()

    def _write_chunk(self, data):
        if self._te_chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.wfile.write(data)      # wfile is unbuffered: this goes out at once
        self.wfile.flush()

    def _end_stream(self):
        if self._te_chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _sse(self, query):
        n = _param(query, "n", 5, int, 0, 1_000_000)
        interval = _param(query, "interval", 0.2, float, 0.0, 3600.0)
        self._start_stream("text/event-stream",
                           [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")])
        for i in range(n):
            if i:
                time.sleep(interval)
            self._write_chunk(b"data: %s\n\n" % json.dumps({"seq": i}).encode())
        self._end_stream()

    def _chunked(self, query):
        n = _param(query, "n", 5, int, 0, 1_000_000)
        interval = _param(query, "interval", 0.2, float, 0.0, 3600.0)
        size = _param(query, "size", 16, int, 1, 1 << 20)
        self._start_stream("text/plain; charset=utf-8")
        for i in range(n):
            if i:
                time.sleep(interval)
            # "chunk-<i>" padded with dots to exactly `size` bytes, ending in "\n"
            self._write_chunk((f"chunk-{i}".ljust(size - 1, ".")[:size - 1] + "\n").encode())
        self._end_stream()

    def _download(self, query):
        n = _param(query, "bytes", 1 << 20, int, 0, 1 << 50)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        block = memoryview(DOWNLOAD_BLOCK)
        while n > 0:
            k = min(n, CHUNK)
            self.wfile.write(block[:k])
            n -= k

    def _exit(self, query):
        code = _param(query, "code", 0, int, 0, 255)
        self._send_json(200, {"exiting": True}, close=True)  # written unbuffered
        self.wfile.flush()

        def bye():
            time.sleep(0.05)
            sys.stderr.write(f"echo_agent: exiting with code {code} (POST /exit)\n")
            sys.stderr.flush()
            os._exit(code)

        threading.Thread(target=bye, daemon=True).start()

    # ---- WebSocket (RFC 6455) --------------------------------------------------
    # A deliberately minimal echo server for tests/demos: no extensions, no
    # subprotocols, fragmented messages refused with 1003.

    def _websocket(self):
        import base64
        key = self.headers.get("Sec-WebSocket-Key", "").strip()
        if not key or self.headers.get("Sec-WebSocket-Version", "").strip() != "13":
            raise HttpError(400, "WebSocket handshake needs Sec-WebSocket-Key "
                                 "and Sec-WebSocket-Version: 13")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.close_connection = True    # no HTTP after the WebSocket ends
        try:
            while True:
                fin, opcode, payload = self._ws_read_frame()
                if opcode in (1, 2) and fin:        # text / binary: echo back
                    if opcode == 1:
                        try:
                            payload.decode("utf-8")
                        except UnicodeDecodeError:
                            raise WsClose(1007, "text frame is not valid UTF-8") from None
                    self._ws_send(opcode, payload)
                elif opcode == 9:                   # ping -> pong
                    self._ws_send(10, payload)
                elif opcode == 10:                  # unsolicited pong: ignore
                    pass
                elif opcode == 8:                   # close: answer with the same code
                    self._ws_send(8, payload[:2])
                    return
                elif opcode in (0, 1, 2):
                    raise WsClose(1003, "fragmented messages are not supported")
                else:
                    raise WsClose(1002, f"unknown opcode {opcode}")
        except WsClose as e:
            self._ws_send(8, e.status.to_bytes(2, "big") + str(e).encode()[:123])

    def _recv_exact(self, n):
        data = self.rfile.read(n)
        if len(data) < n:
            raise ClientGone()
        return data

    def _ws_read_frame(self):
        b0, b1 = self._recv_exact(2)
        if b0 & 0x70:
            raise WsClose(1002, "RSV bits set without an extension")
        fin, opcode, n = bool(b0 & 0x80), b0 & 0x0F, b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self._recv_exact(2), "big")
        elif n == 127:
            n = int.from_bytes(self._recv_exact(8), "big")
        if not b1 & 0x80:
            raise WsClose(1002, "client frames must be masked")
        if opcode >= 8 and (n > 125 or not fin):
            raise WsClose(1002, "invalid control frame")
        if n > WS_MAX_PAYLOAD:
            raise WsClose(1009, "frame too large")
        mask = self._recv_exact(4)
        return fin, opcode, _unmask(self._recv_exact(n), mask)

    def _ws_send(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | opcode, n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
        self.wfile.write(head + payload)    # server frames are never masked


class EchoServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def server_bind(self):
        # Skip HTTPServer's socket.getfqdn() (a possibly slow DNS lookup).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return                  # peer went away: not worth a traceback
        super().handle_error(request, client_address)


def main():
    raw = os.environ.get("PORT", "").strip()
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 65535):
        sys.stderr.write(f"echo_agent: env PORT must be set to a port number 1-65535 (got {raw!r})\n")
        sys.exit(2)
    port = int(raw)
    host = os.environ.get("ECHO_HOST", "").strip() or "127.0.0.1"
    if ":" in host:
        import socket
        EchoServer.address_family = socket.AF_INET6
    try:
        server = EchoServer((host, port), EchoHandler)
    except OSError as e:
        sys.stderr.write(f"echo_agent: cannot listen on {host}:{port}: {e}\n")
        sys.exit(1)
    sys.stderr.write(f"echo_agent: listening on {host}:{port} (pid {os.getpid()})\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

"""A sandbox that breaks HTTP on purpose, by request path (FaultsIT). Listens on $PORT.

/garbage      not HTTP at all
/status2000   a status line with a four-digit status
/bighead      a response head far larger than any limit
/upload       a final 413 as soon as the request head is read, body unread, then close
/smuggle      a whole 200 "ok" and, in the same write, a second response nobody asked for
anything else 200 "ok"
"""
import os
import socket
import threading


def serve(conn):
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 2)[1].decode("ascii", "replace")
        if path.endswith("/garbage"):
            conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\nthis is not http\r\n")
        elif path.endswith("/status2000"):
            conn.sendall(b"HTTP/1.1 2000 Weird\r\nContent-Length: 2\r\n\r\nok")
        elif path.endswith("/bighead"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\nContent-Length: 2\r\n\r\nok")
        elif path.endswith("/upload"):
            body = b'{"error":"too large"}'
            conn.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                         b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            # As servers do (lingering close): read what the client still sends for a moment,
            # so that the close does not reset the connection under the answer.
            conn.settimeout(1.0)
            try:
                while conn.recv(65536):
                    pass
            except OSError:
                pass
        elif path.endswith("/smuggle"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                         b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled")
            conn.settimeout(5.0)
            try:
                while conn.recv(65536):
                    pass  # keeps the connection open: the extra answer waits for a next request
            except OSError:
                pass
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(os.environ["PORT"])))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""connectproxy: an HTTP proxy on loopback that counts what goes through it.

    connectproxy.py PORT_FILE LOG_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE). A CONNECT to a
loopback host (localhost, 127.0.0.1, ::1) is answered 200 and tunnelled;
any other request, or a CONNECT elsewhere, is answered 403 and not
forwarded. Every request is logged to LOG_FILE as one JSON line (method,
target, status sent), so a test counts the CONNECTs an agent made. Runs
until killed.
"""
import json
import os
import select
import socket
import socketserver
import sys
import threading

PORT_FILE, LOG_FILE = sys.argv[1:3]
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
lock = threading.Lock()


def log(**entry):
    with lock, open(LOG_FILE, "a") as f:
        f.write(json.dumps(entry) + "\n")


def pipe(a, b):
    """Copies both ways between sockets a and b until one side closes."""
    socks = [a, b]
    while True:
        readable, _, _ = select.select(socks, [], [], 60)
        if not readable:
            return
        for s in readable:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        method = parts[0]
        target = parts[1] if len(parts) > 1 else ""
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or host not in LOOPBACK or not port.isdigit():
            log(method=method, target=target, status=403)
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\n"
                                 b"Content-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection((host.strip("[]"),
                                                 int(port)), timeout=10)
        except OSError as e:
            log(method=method, target=target, status=502, error=str(e))
            self.request.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            return
        log(method=method, target=target, status=200)
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            upstream.sendall(rest)
        try:
            pipe(self.request, upstream)
        finally:
            upstream.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()

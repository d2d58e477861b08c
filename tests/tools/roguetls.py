#!/usr/bin/python3
"""roguetls: a TLS server that records whatever a client sends it.

    roguetls.py CERT KEY PORT_FILE LOG_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE) with the given
certificate, TLS 1.2 and up. Each connection is logged to LOG_FILE as one
JSON line: {"handshake": "ok"} or {"handshake": "failed", "error": ...},
and, when a client did send something over an established session,
{"request": FIRST_LINE, "bytes": N}, answered 503. A client that refuses
the certificate leaves handshake lines and no request line. Runs until
killed.
"""
import json
import os
import socket
import ssl
import sys
import threading

CERT, KEY, PORT_FILE, LOG_FILE = sys.argv[1:5]
lock = threading.Lock()


def log(**entry):
    with lock, open(LOG_FILE, "a") as f:
        f.write(json.dumps(entry) + "\n")


def serve(conn, ctx):
    conn.settimeout(10)
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError) as e:
        log(handshake="failed", error=str(e))
        conn.close()
        return
    log(handshake="ok")
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ssl.SSLError, OSError):
        pass
    if data:
        log(request=data.split(b"\r\n", 1)[0].decode("latin-1"),
            bytes=len(data))
        try:
            tls.sendall(b"HTTP/1.1 503 Service Unavailable\r\n"
                        b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
    tls.close()


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(CERT, KEY)
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(16)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(sock.getsockname()[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
while True:
    c, _ = sock.accept()
    threading.Thread(target=serve, args=(c, ctx), daemon=True).start()

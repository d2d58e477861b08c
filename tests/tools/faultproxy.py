#!/usr/bin/python3
"""faultproxy: an HTTP-aware TCP proxy that injects faults, for tests.

    faultproxy.py PORT_FILE TARGET_HOST:PORT PLAN_FILE LOG_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE) and forwards each
HTTP/1.1 request to TARGET on a fresh connection. TARGET may list several
servers separated by commas: requests go to each in turn (round robin),
so that an agent's retry lands on another server than its first try. PLAN_FILE (JSON, re-read
for every request) says what to do:

  {"script": [ACTION, ...],        consumed one per request, in order
   "default": ACTION,              then this (default "pass")
   "random": {"seed": N, "p": {ACTION_NAME: probability, ...},
              "args": {ACTION_NAME: {...}}}}
                                   or, if present, a seeded random choice
                                   (with args, e.g. {"delay": {"s": 3}})

An ACTION is a name or an object {"do": NAME, ...}:

  pass                forward, answer what the server said
  refuse              close the connection with a reset, reading nothing
                      more than the request's first bytes
  reset_request       read the headers, then reset mid-upload
  reset_response      forward; send the client half the answer, then reset
  cut_after_request   forward and let the server answer; the client gets
                      a reset instead (the server committed, the agent
                      does not know)
  delay {"s": S}      wait S seconds, then pass
  hang                read the request, never answer (client times out)
  throttle {"bps": N} pass, writing the answer at N bytes per second
  status {"code": C, "headers": {...}, "body": "..."}
                      answer C without forwarding
  status_if_larger {"limit": N, "code": C, ...}
                      status C if the body is over N bytes, else pass
  status_if_header {"header": H, "code": C, ...}
                      status C if the request has header H, else pass

Every request is logged to LOG_FILE as a JSON line: time, action, method,
path, request bytes, status sent (0 if none). The proxy runs until killed.
"""
import json
import os
import random
import socket
import socketserver
import struct
import sys
import threading
import time

PORT_FILE, TARGET, PLAN_FILE, LOG_FILE = sys.argv[1:5]
TARGETS = [(h, int(p)) for h, p in (t.rsplit(":", 1)
                                     for t in TARGET.split(","))]
lock = threading.Lock()
state = {"n": 0, "rng": None, "mtime": None, "next": 0}


def next_target():
    """The server for the next forwarded request, in turn."""
    with lock:
        t = TARGETS[state["next"] % len(TARGETS)]
        state["next"] += 1
    return t


def plan_action():
    """The action for the next request. A rewritten plan starts over."""
    try:
        with open(PLAN_FILE) as f:
            mtime = os.fstat(f.fileno()).st_mtime_ns
            plan = json.load(f)
    except (OSError, ValueError):
        plan, mtime = {}, None
    with lock:
        if mtime != state["mtime"]:
            state.update(n=0, rng=None, mtime=mtime)
        n = state["n"]
        state["n"] += 1
        script = plan.get("script", [])
        if n < len(script):
            a = script[n]
        elif "random" in plan:
            r = plan["random"]
            if state["rng"] is None:
                state["rng"] = random.Random(r.get("seed", 1))
            x, a = state["rng"].random(), "pass"
            for name, p in sorted(r["p"].items()):
                if x < p:
                    a = dict(r.get("args", {}).get(name, {}), do=name)
                    break
                x -= p
        else:
            a = plan.get("default", "pass")
    return {"do": a} if isinstance(a, str) else a


def read_message(sock, buf=b""):
    """Reads one HTTP message (headers + Content-Length body)."""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            return None, None, buf
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        d = sock.recv(65536)
        if not d:
            break
        rest += d
    return head, rest[:length], rest[length:]


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def forward(head, body):
    """The server's answer (re-framed), its status, and which server."""
    target = next_target()
    up = socket.create_connection(target, timeout=30)
    lines = head.split(b"\r\n")
    lines = [l for l in lines if not l.lower().startswith(b"connection:")]
    up.sendall(b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body)
    rhead, rbody, _ = read_message(up)
    up.close()
    where = "%s:%d" % target
    if rhead is None:
        return b"", 0, where
    status = int(rhead.split(b" ", 2)[1])
    # Re-frame the answer for a kept-alive client connection.
    lines = [l for l in rhead.split(b"\r\n")
             if not l.lower().startswith(b"connection:")]
    return b"\r\n".join(lines) + b"\r\n\r\n" + rbody, status, where


def canned(a):
    code = a.get("code", 500)
    body = a.get("body", "").encode()
    hdrs = a.get("headers", {})
    if "body" not in a and code >= 400:
        body = json.dumps({"error": "injected %d" % code}).encode()
        hdrs.setdefault("Content-Type", "application/json")
    out = "HTTP/1.1 %d Injected\r\nContent-Length: %d\r\n" % (code, len(body))
    for k, v in hdrs.items():
        if k == "Retry-After" and isinstance(v, str) and v.startswith("+"):
            v = time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                              time.gmtime(time.time() + int(v[1:])))
        out += "%s: %s\r\n" % (k, v)
    return (out + "\r\n").encode() + body, code


def log(action, head, body, status, answer=b"", upstream=None):
    first = head.split(b"\r\n", 1)[0].decode(errors="replace").split(" ")
    rec = {"t": round(time.time(), 3), "do": action, "method": first[0],
           "path": first[1] if len(first) > 1 else "", "bytes": len(body),
           "status": status, "head": len(head) + 4, "answer": len(answer)}
    if upstream:
        rec["upstream"] = upstream
    with lock, open(LOG_FILE, "a") as f:
        f.write(json.dumps(rec) + "\n")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        c.settimeout(120)
        buf = b""
        try:
            while True:
                if not self.one(c, buf):
                    return
                buf = b""
        except OSError:
            return

    def one(self, c, buf):
        # The action is chosen once a request has begun (its headers are
        # in), so that a kept-alive connection follows the current plan.
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return False
            buf += d
        a = plan_action()
        do = a["do"]
        if do == "refuse":
            log(do, b"- -", b"", 0)
            reset(c)
            return False
        if do == "reset_request":
            log(do, buf.split(b"\r\n\r\n")[0], b"", 0)
            reset(c)
            return False
        head, body, _ = read_message(c, buf)
        if head is None:
            return False
        if do == "status_if_larger":
            do = "status" if len(body) > a["limit"] else "pass"
        if do == "status_if_header":
            has = any(l.lower().startswith(a["header"].lower().encode() + b":")
                      for l in head.split(b"\r\n"))
            do = "status" if has else "pass"
        if do == "status":
            out, status = canned(a)
            log(a["do"] + ":" + str(status), head, body, status)
            c.sendall(out)
            return True
        if do == "hang":
            log(do, head, body, 0)
            time.sleep(a.get("s", 3600))
            reset(c)
            return False
        if do == "delay":
            time.sleep(a.get("s", 1))
        out, status, where = forward(head, body)
        log(do, head, body, status if do not in
            ("cut_after_request",) else 0, out, where)
        if do == "cut_after_request" or not out:
            reset(c)
            return False
        if do == "reset_response":
            c.sendall(out[:len(out) // 2])
            reset(c)
            return False
        if do == "throttle":
            step = max(1, a.get("bps", 1000) // 10)
            for i in range(0, len(out), step):
                c.sendall(out[i:i + step])
                time.sleep(0.1)
            return True
        c.sendall(out)
        return True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()

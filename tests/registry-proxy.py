#!/usr/bin/env python3
"""registry-proxy.py: an HTTP proxy in front of a docker-registry for
strata's integration tests, to make the registry misbehave the way real ones
and networks do, and to record what the client sent (python3 stdlib only).

    registry-proxy.py --port P --upstream 127.0.0.1:R --log FILE [options]

Every request is logged to FILE as one JSON line: listener ("registry" or
"storage"), method, path, the Authorization scheme sent (or null), Range,
the status answered, the body's length (Content-Length; null for answers
made here), the fault injected into the answer's body (null, or
"cut at N of M", "stall at N of M", "corrupt at N of M", "vanish at N of M":
N bytes into a body of M) and when the request arrived (Unix time).

Options (faults apply to blob GETs, /v2/<repo>/blobs/<digest>):
  --redirect-blobs HOST   answer blob GETs (once the registry accepted them)
                          with 307 to http://HOST:P/storage/..., a second
                          listener standing for a storage backend on another
                          host (use 127.0.0.2: still loopback)
  --min-size N            cuts, stalls and --corrupt-random spare blob bodies
                          shorter than N bytes (say, to hit layers and not
                          the image configuration)
  --cut-after N           send only N bytes of a blob body, then drop the
                          connection (the first --cut-count answers; default 1)
  --cut-random            the same at a random offset inside each body
                          (1..size-1), drawn from --seed
  --stall-after N         send N bytes of a blob body, then nothing for
                          --stall-seconds (default 10), then drop the
                          connection (the first --stall-count answers; default 1)
  --ignore-range          answer Range requests with 200 and the whole blob
  --fail N                answer the first N blob GETs with --fail-status
                          (default 503), with Retry-After: --retry-after if given
  --corrupt               flip the first byte of every blob body
  --corrupt-random        flip one byte at a random offset of every blob body
  --vanish-after N        once N bytes of blob bodies went out in all, exit at
                          once: open connections are reset and new ones
                          refused, like a registry host that goes away
  --fault-file FILE       read FILE (when it exists) at each ranged blob GET:
                          "corrupt" flips the byte in the middle of the body,
                          "stall" sends no byte of it for --stall-seconds,
                          so that a test turns faults on and off as it goes
  --seed S                seed of the random offsets (default 1), so that a
                          failing run can be repeated
"""
import argparse
import http.client
import json
import os
import random
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLOB_RE = re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$")
PASS_HEADERS = ("content-type", "content-length", "content-range", "docker-content-digest",
                "www-authenticate", "retry-after", "location", "docker-distribution-api-version",
                "accept-ranges", "etag")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        cutting = args.cut_after is not None or args.cut_random
        self.cuts_left = args.cut_count if cutting else 0
        self.stalls_left = args.stall_count if args.stall_after is not None else 0
        self.fails_left = args.fail
        self.rng = random.Random(args.seed)  # lock
        self.sent = 0  # lock: blob body bytes sent in all, for --vanish-after
        self.grants = {}  # redirect id -> Authorization the registry accepted
        self.next_id = 0

    def take(self, name):
        with self.lock:
            n = getattr(self, name)
            if n > 0:
                setattr(self, name, n - 1)
                return True
            return False

    def draw(self, lo, hi):
        """A random offset in lo..hi (inclusive), from the seeded sequence."""
        with self.lock:
            return self.rng.randint(lo, hi)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm the
    # body waits for the client's delayed ACK of the headers (40 ms a
    # request), which a test of many small Range requests pays thousands
    # of times.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def record(self, status, fault=None, length=None):
        st = self.server.state
        auth = self.headers.get("Authorization")
        entry = {"listener": self.server.listener, "method": self.command, "path": self.path,
                 "authorization": auth.split(" ", 1)[0].lower() if auth else None,
                 "range": self.headers.get("Range"), "status": status, "fault": fault,
                 "length": length, "time": round(self.arrived, 6)}
        with st.lock:
            with open(st.args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def simple(self, status, extra=None):
        body = b'{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.record(status)

    def upstream(self, path, auth, rng):
        a = self.server.state.args
        host, port = a.upstream.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {}
        for k in ("Accept", "User-Agent"):
            if self.headers.get(k):
                headers[k] = self.headers[k]
        if auth:
            headers["Authorization"] = auth
        if rng:
            headers["Range"] = rng
        conn.request(self.command, path, headers=headers)
        return conn, conn.getresponse()

    def plan(self, status, body_len):
        """The fault for a blob answer: (kind, offset) or (None, None)."""
        st = self.server.state
        a = st.args
        if status not in (200, 206) or body_len < max(a.min_size, 2):
            return None, None
        if a.cut_random and st.take("cuts_left"):
            return "cut", st.draw(1, body_len - 1)
        if a.cut_after is not None and body_len > a.cut_after and st.take("cuts_left"):
            return "cut", a.cut_after
        if a.stall_after is not None and body_len > a.stall_after and st.take("stalls_left"):
            return "stall", a.stall_after
        if a.corrupt_random:
            return "corrupt", st.draw(0, body_len - 1)
        if a.fault_file and self.headers.get("Range"):
            try:
                with open(a.fault_file) as f:
                    want = f.read().strip()
            except OSError:
                want = ""
            if want == "corrupt":
                return "corrupt", body_len // 2
            if want == "stall":
                return "stall", 0
        return None, None

    def relay(self, path, auth, is_blob):
        a = self.server.state.args
        st = self.server.state
        rng = None if (is_blob and a.ignore_range) else self.headers.get("Range")
        conn, resp = self.upstream(path, auth, rng)
        try:
            body_len = int(resp.getheader("Content-Length") or 0)
            kind, at = (None, None)
            if is_blob and self.command == "GET":
                kind, at = self.plan(resp.status, body_len)
            if kind is None and is_blob and a.corrupt and resp.status in (200, 206) and body_len:
                kind, at = "corrupt", 0
            if is_blob and a.vanish_after is not None and resp.status in (200, 206):
                with st.lock:
                    left = a.vanish_after - st.sent
                if 0 <= left < body_len:
                    kind, at = "vanish", left
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() in PASS_HEADERS:
                    self.send_header(k, v)
            self.end_headers()
            self.record(resp.status, None if kind is None else
                        "%s at %d of %d" % (kind, at, body_len), body_len)
            if self.command == "HEAD":
                return
            # Where the body stops short: a cut, the end of a stall, the proxy's end.
            stop = at if kind in ("cut", "stall", "vanish") else None
            sent = 0
            while sent < body_len:
                want = min(65536, body_len - sent)
                if stop is not None:
                    want = min(want, stop - sent)
                chunk = resp.read(want) if want else b""
                if kind == "corrupt" and sent <= at < sent + len(chunk):
                    i = at - sent
                    chunk = chunk[:i] + bytes([chunk[i] ^ 0xff]) + chunk[i + 1:]
                if chunk:
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    if is_blob:
                        with st.lock:
                            st.sent += len(chunk)
                if stop is not None and sent >= stop:
                    self.wfile.flush()
                    if kind == "vanish":
                        os._exit(0)
                    if kind == "stall":
                        time.sleep(a.stall_seconds)
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if not chunk:
                    break
        except OSError:
            # The client gave up on this answer (say, after a stall): not our fault.
            self.close_connection = True
        finally:
            conn.close()

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.arrived = time.time()
        st = self.server.state
        a = st.args
        if self.server.listener == "storage":
            m = re.match(r"^/storage(/v2/.+)\?id=(\d+)$", self.path)
            with st.lock:
                auth = st.grants.get(int(m.group(2))) if m else None
            if not m:
                return self.simple(404)
            return self.relay(m.group(1), auth, True)
        is_blob = self.command == "GET" and BLOB_RE.match(self.path) is not None
        if is_blob and st.take("fails_left"):
            extra = {"Retry-After": str(a.retry_after)} if a.retry_after is not None else None
            return self.simple(a.fail_status, extra)
        auth = self.headers.get("Authorization")
        if is_blob and a.redirect_blobs:
            # Like a registry with a storage backend: authorise first, then redirect.
            conn, resp = self.upstream(self.path, auth, None)
            conn.close()
            if resp.status != 200:
                return self.relay(self.path, auth, False)
            with st.lock:
                st.next_id += 1
                gid = st.next_id
                st.grants[gid] = auth
            loc = "http://%s:%d/storage%s?id=%d" % (a.redirect_blobs, a.port, self.path, gid)
            self.send_response(307)
            self.send_header("Location", loc)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.record(307)
            return
        self.relay(self.path, auth, is_blob)


def serve(host, port, listener, state):
    srv = ThreadingHTTPServer((host, port), Handler)
    srv.daemon_threads = True
    srv.listener = listener
    srv.state = state
    return srv


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--redirect-blobs")
    p.add_argument("--cut-after", type=int)
    p.add_argument("--cut-count", type=int, default=1)
    p.add_argument("--cut-random", action="store_true")
    p.add_argument("--stall-after", type=int)
    p.add_argument("--stall-seconds", type=float, default=10)
    p.add_argument("--stall-count", type=int, default=1)
    p.add_argument("--min-size", type=int, default=0)
    p.add_argument("--ignore-range", action="store_true")
    p.add_argument("--fail", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--retry-after", type=int)
    p.add_argument("--corrupt", action="store_true")
    p.add_argument("--corrupt-random", action="store_true")
    p.add_argument("--vanish-after", type=int)
    p.add_argument("--fault-file")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    state = State(args)
    servers = [serve(args.host, args.port, "registry", state)]
    if args.redirect_blobs:
        servers.append(serve(args.redirect_blobs, args.port, "storage", state))
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    sys.stderr.write("registry proxy on %s:%d\n" % (args.host, args.port))
    servers[0].serve_forever()


if __name__ == "__main__":
    main()

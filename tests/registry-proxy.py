#!/usr/bin/env python3
"""registry-proxy.py: an HTTP proxy in front of a docker-registry for
strata's integration tests, to make the registry misbehave the way real ones
and networks do, and to record what the client sent (python3 stdlib only).

    registry-proxy.py --port P --upstream 127.0.0.1:R --log FILE [options]

Every request is logged to FILE as one JSON line: listener ("registry" or
"storage"), method, path, the Authorization scheme sent (or null), Range,
and the status answered.

Options (faults apply to blob GETs, /v2/<repo>/blobs/<digest>):
  --redirect-blobs HOST   answer blob GETs (once the registry accepted them)
                          with 307 to http://HOST:P/storage/..., a second
                          listener standing for a storage backend on another
                          host (use 127.0.0.2: still loopback)
  --cut-after N           send only N bytes of a blob body, then drop the
                          connection (the first --cut-count answers; default 1)
  --ignore-range          answer Range requests with 200 and the whole blob
  --fail N                answer the first N blob GETs with --fail-status
                          (default 503), with Retry-After: --retry-after if given
  --corrupt               flip one byte of every blob body
"""
import argparse
import http.client
import json
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLOB_RE = re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$")
PASS_HEADERS = ("content-type", "content-length", "content-range", "docker-content-digest",
                "www-authenticate", "retry-after", "location", "docker-distribution-api-version",
                "accept-ranges", "etag")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.cuts_left = args.cut_count if args.cut_after is not None else 0
        self.fails_left = args.fail
        self.grants = {}  # redirect id -> Authorization the registry accepted
        self.next_id = 0

    def take(self, name):
        with self.lock:
            n = getattr(self, name)
            if n > 0:
                setattr(self, name, n - 1)
                return True
            return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, status):
        st = self.server.state
        auth = self.headers.get("Authorization")
        entry = {"listener": self.server.listener, "method": self.command, "path": self.path,
                 "authorization": auth.split(" ", 1)[0].lower() if auth else None,
                 "range": self.headers.get("Range"), "status": status}
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

    def relay(self, path, auth, is_blob):
        a = self.server.state.args
        st = self.server.state
        rng = None if (is_blob and a.ignore_range) else self.headers.get("Range")
        conn, resp = self.upstream(path, auth, rng)
        try:
            body_len = int(resp.getheader("Content-Length") or 0)
            cut = (is_blob and resp.status in (200, 206) and a.cut_after is not None
                   and body_len > a.cut_after
                   and st.take("cuts_left"))
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() in PASS_HEADERS:
                    self.send_header(k, v)
            self.end_headers()
            self.record(resp.status)
            if self.command == "HEAD":
                return
            sent = 0
            flipped = False
            while sent < body_len:
                chunk = resp.read(min(65536, body_len - sent))
                if not chunk:
                    break
                if cut and sent + len(chunk) > a.cut_after:
                    chunk = chunk[:a.cut_after - sent]
                if is_blob and a.corrupt and not flipped and resp.status in (200, 206) and chunk:
                    chunk = bytes([chunk[0] ^ 0xff]) + chunk[1:]
                    flipped = True
                self.wfile.write(chunk)
                sent += len(chunk)
                if cut and sent >= a.cut_after:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
        finally:
            conn.close()

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
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
    p.add_argument("--ignore-range", action="store_true")
    p.add_argument("--fail", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--retry-after", type=int)
    p.add_argument("--corrupt", action="store_true")
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

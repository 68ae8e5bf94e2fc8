#!/usr/bin/env python3
"""connect-proxy.py: the smallest forward HTTP proxy, for strata's TLS tests
(python3 stdlib only): it tunnels CONNECT HOST:PORT (what an HTTPS_PROXY
gets) and relays plain requests in absolute form, "GET http://HOST:PORT/..."
(what an http_proxy gets), each connection to the host its first request
names. It listens on loopback.

    connect-proxy.py --port P --log FILE [--map HOST=ADDR]...

Each connection's first request is logged to FILE as one JSON line: method,
target ("HOST:PORT" for CONNECT, the URL otherwise), and the address it was
sent to. --map sends HOST to ADDR (say, registry.test=127.0.0.1), so that a
test can name a registry by a host name that is not loopback.
"""
import argparse
import json
import socket
import socketserver
import sys
import threading
from urllib.parse import urlsplit

HEAD_MAX = 65536


def relay(a, b):
    """Copies a to b until a ends, then ends b's writing side."""
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            data = c.recv(4096)
            if not data or len(head) > HEAD_MAX:
                return
            head += data
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split()
        if len(parts) != 3:
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        method, target = parts[0], parts[1]
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
        else:
            u = urlsplit(target)
            host, port = u.hostname or "", u.port or 80
        addr = self.server.maps.get(host, host)
        self.server.log({"method": method, "target": target, "sent_to": f"{addr}:{port}"})
        try:
            up = socket.create_connection((addr, int(port)), timeout=10)
            up.settimeout(None)
        except OSError as e:
            c.sendall(f"HTTP/1.1 502 Bad Gateway\r\nContent-Length: {len(str(e))}\r\n\r\n{e}".encode())
            return
        with up:
            if method == "CONNECT":
                rest = head.split(b"\r\n\r\n", 1)[1]
                c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    up.sendall(rest)
            else:
                up.sendall(head)
            t = threading.Thread(target=relay, args=(up, c), daemon=True)
            t.start()
            relay(c, up)
            t.join()


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--map", action="append", default=[])
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.maps = dict(m.split("=", 1) for m in args.map)
    lock = threading.Lock()

    def log(entry):
        with lock, open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    srv.log = log
    print(f"listening on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()

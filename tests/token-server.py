#!/usr/bin/env python3
"""token-server.py: a small Bearer token server for docker-registry's
`auth: token:` scheme, for strata's integration tests (python3 stdlib +
the openssl command).

It signs RS256 JWTs with KEY; the JWT header's `kid` is the libtrust key id
of CERT's public key, which docker-registry finds in its rootcertbundle.
Users with a password (--user NAME:PASSWORD, repeatable) get every action
they ask for; requests without credentials get `pull` on the repositories
named by --anonymous (repeatable; "*" for all), nothing elsewhere. Wrong
credentials get 401. Every request is logged to --log as one JSON line.

    token-server.py --port P --key key.pem --cert cert.pem \
        --issuer I --service S --user user:pass --anonymous strata/base --log F
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_kid(cert_path):
    """docker/libtrust's key id: base32 of the first 240 bits of
    sha256(DER SubjectPublicKeyInfo), in groups of four joined by ':'."""
    pem = subprocess.run(["openssl", "x509", "-in", cert_path, "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem,
                         check=True, capture_output=True).stdout
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


class Signer:
    def __init__(self, key, cert):
        self.key = key
        self.kid = libtrust_kid(cert)

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        # RS256 is RSASSA-PKCS1-v1_5 over sha256: exactly what `openssl dgst -sign` makes.
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                             input=signing_input.encode(), check=True,
                             capture_output=True).stdout
        return signing_input + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    server_version = "strata-token-server"

    def log_message(self, fmt, *args):
        pass

    def record(self, entry):
        with self.server.log_lock:
            with open(self.server.args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def reply(self, status, body, extra=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        args = self.server.args
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        scopes = q.get("scope", [])
        user = None
        auth = self.headers.get("Authorization")
        entry = {"path": url.path, "service": q.get("service", [None])[0], "scopes": scopes,
                 "authorization": auth.split(" ", 1)[0].lower() if auth else None,
                 "user": None}
        if url.path != "/token":
            entry["result"] = 404
            self.record(entry)
            return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
        if auth:
            ok = False
            if auth.lower().startswith("basic "):
                try:
                    name, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                    ok = self.server.users.get(name) == pw
                    entry["user"] = name
                except Exception:
                    ok = False
            if not ok:
                entry["result"] = 401
                self.record(entry)
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                    "message": "bad credentials"}]},
                                  {"WWW-Authenticate": 'Basic realm="strata-token-server"'})
            user = entry["user"]
        elif args.refuse_anonymous:
            entry["result"] = 401
            self.record(entry)
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                "message": "credentials required"}]},
                              {"WWW-Authenticate": 'Basic realm="strata-token-server"'})
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            name, actions = ":".join(parts[1:-1]), parts[-1].split(",")
            if user is None:
                allowed = "*" in args.anonymous or name in args.anonymous
                actions = ["pull"] if allowed and "pull" in actions else []
            access.append({"type": "repository", "name": name, "actions": actions})
        now = int(time.time())
        claims = {"iss": args.issuer, "sub": user or "", "aud": args.service,
                  "exp": now + args.expires, "nbf": now - 10, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": access}
        token = self.server.signer.sign(claims)
        entry["result"] = 200
        entry["access"] = access
        self.record(entry)
        body = {"expires_in": args.expires, "issued_at":
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
        # Docker's token servers send both names; --field tests each on its own.
        if args.field in ("both", "token"):
            body["token"] = token
        if args.field in ("both", "access_token"):
            body["access_token"] = token
        self.reply(200, body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--issuer", default="strata-token-server")
    p.add_argument("--service", default="strata-registry")
    p.add_argument("--user", action="append", default=[])
    p.add_argument("--anonymous", action="append", default=[])
    p.add_argument("--refuse-anonymous", action="store_true")
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--field", choices=("both", "token", "access_token"), default="both")
    p.add_argument("--log", default=os.devnull)
    args = p.parse_args()
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    srv.args = args
    srv.users = dict(u.split(":", 1) for u in args.user)
    srv.signer = Signer(args.key, args.cert)
    srv.log_lock = threading.Lock()
    sys.stderr.write("token server on %s:%d, kid %s\n" % (args.host, args.port, srv.signer.kid))
    srv.serve_forever()


if __name__ == "__main__":
    main()

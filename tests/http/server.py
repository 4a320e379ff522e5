#!/usr/bin/env python3
"""A small REST service for the http provider's tests, on loopback only.

    python3 tests/http/server.py --dir DIR [--token-env NAME] [--basic-env NAME]
                                 [--latency-ms MS] [--redirect-to URL]
                                 [--tls-cert PEM --tls-key PEM]

Listens on 127.0.0.1 (over TLS with --tls-cert), on a port the system picks, and writes it to
DIR/port once it listens. Objects live in memory (and in DIR/objects.json
after every change, for a test to look at), one JSON object per path
under /api/:

    GET    /api/PATH          the object (200), or 404
    PUT    /api/PATH          makes or replaces it (201 made, 200 replaced)
    POST   /api/PATH          makes PATH/ID with a new id (201); an
                              Idempotency-Key seen before answers the first
                              answer again (with Idempotent-Replayed: true),
                              even once that object is gone, as services
                              that keep keys for a day do
    PATCH  /api/PATH          JSON merge patch (RFC 7396)
    DELETE /api/PATH          204, or 404

Every object answered carries fields the service adds itself: "id" (for
PUT the last path segment), "revision" (counts changes) and "kind".

Every /api/ request needs the bearer token held by the environment
variable --token-env names (or Basic credentials "user:password" from
--basic-env): else 401 with {"error": {"code", "message"}}.

For the tests, without authentication:

    ANY  /redirect[/PATH]     302 to --redirect-to (default the cloud metadata
                              address) and PATH, or to ?to=URL: the client
                              must not follow it
    POST /_admin/edit/PATH    merge a JSON object into PATH's object, as a
                              colleague with console access would
    POST /_admin/delete/PATH  delete it so
    POST /_admin/fail         {"status": 503, "count": N, "match": "/api/…",
                              "method": "PUT"}: the next N requests whose
                              path starts with match (and of that method,
                              when given) answer status
    GET  /_admin/objects      every object, {PATH: object}

and, as a careless service would, any request to /api/echo/… answers
400 with the Authorization it was sent in its error message; a request to
/api/echo-escaped/… answers the same with every character of the message
written as a JSON \\u escape (and "/" as "\\/"), as some encoders do.

Every request is logged to DIR/requests.log, one JSON line: method, path,
status, the Idempotency-Key and Content-Type sent, whether it was
authenticated, whether a POST's answer was a replay of an earlier one, the body received — never the Authorization header.
"""
import argparse
import base64
import hmac
import json
import os
import secrets
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
OBJECTS = {}      # path -> object
KEYS = {}         # idempotency key -> (status, object)
FAIL = {"status": 0, "count": 0, "match": ""}
ARGS = None


def merge(target, patch):
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge(out.get(k), v)
    return out


def save():
    tmp = os.path.join(ARGS.dir, "objects.json.tmp")
    with open(tmp, "w") as f:
        json.dump(OBJECTS, f, sort_keys=True, indent=1)
    os.replace(tmp, os.path.join(ARGS.dir, "objects.json"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "moksha-test-rest/1"

    def log_message(self, fmt, *args):  # the request log below is the log
        pass

    def answer(self, status, obj=None, headers=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.status = status  # logged even when the client is gone before the answer is written
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message, headers=None):
        self.answer(status, {"error": {"code": code, "message": message}}, headers)

    def authed(self):
        got = self.headers.get("Authorization", "")
        token = os.environ.get(ARGS.token_env or "", "") if ARGS.token_env else ""
        basic = os.environ.get(ARGS.basic_env or "", "") if ARGS.basic_env else ""
        if token and hmac.compare_digest(got.encode(), ("Bearer " + token).encode()):
            return True
        if basic and hmac.compare_digest(got.encode(), b"Basic " + base64.b64encode(basic.encode())):
            return True
        return False

    def handle_one(self):
        u = urlsplit(self.path)
        path = u.path
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        self.status = 0
        self.got = raw
        self.auth_ok = None
        self.replayed = False
        if path == "/redirect" or path.startswith("/redirect/"):
            to = parse_qs(u.query).get("to", [ARGS.redirect_to])[0] + path[len("/redirect"):]
            return self.answer(302, {"moved": to}, {"Location": to})
        if path.startswith("/_admin/"):
            return self.admin(path[len("/_admin"):], raw)
        if not path.startswith("/api/"):
            return self.error(404, "not_found", "no such endpoint")
        if ARGS.latency_ms:
            time.sleep(ARGS.latency_ms / 1000.0)
        with LOCK:
            if FAIL["count"] > 0 and path.startswith(FAIL["match"]) and FAIL.get("method") in (None, self.command):
                FAIL["count"] -= 1
                return self.error(FAIL["status"], "injected", "the service is failing on purpose")
        if path.startswith("/api/echo-escaped/"):
            msg = "you sent " + self.headers.get("Authorization", "nothing")
            esc = "".join("\\/" if c == "/" else "\\u%04x" % ord(c) for c in msg).encode()
            body = b'{"error": {"code": "bad_request", "message": "' + esc + b'"}}'
            self.status = 400
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        if path.startswith("/api/echo/"):  # a careless service: its error repeats what it was sent
            return self.error(400, "bad_request", "you sent " + self.headers.get("Authorization", "nothing"),
                              {"Location": "/api/?auth=" + self.headers.get("Authorization", "").replace(" ", "+")})
        self.auth_ok = self.authed()
        if not self.auth_ok:
            return self.error(401, "unauthorized", "a valid bearer token is required",
                              {"WWW-Authenticate": 'Bearer realm="api"'})
        key = path[len("/api"):].rstrip("/")
        body = None
        if self.command in ("PUT", "POST", "PATCH"):
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                return self.error(400, "bad_json", "the body is not JSON")
            if not isinstance(body, dict):
                return self.error(422, "not_an_object", "the body must be a JSON object")
        with LOCK:
            if self.command in ("GET", "HEAD"):
                if key not in OBJECTS:
                    return self.error(404, "not_found", "no object at " + key)
                return self.answer(200, OBJECTS[key])
            if self.command == "PUT":
                old = OBJECTS.get(key)
                obj = dict(body)
                obj["id"] = key.rsplit("/", 1)[-1]
                obj["revision"] = (old or {}).get("revision", 0) + 1
                obj["kind"] = "item"
                OBJECTS[key] = obj
                save()
                return self.answer(200 if old else 201, obj)
            if self.command == "POST":
                ik = self.headers.get("Idempotency-Key")
                if ik and ik in KEYS:
                    st, obj = KEYS[ik]
                    self.replayed = True
                    return self.answer(st, obj, {"Idempotent-Replayed": "true"})
                oid = secrets.token_hex(6)
                obj = dict(body)
                obj["id"] = oid
                obj["revision"] = 1
                obj["kind"] = "item"
                OBJECTS[key + "/" + oid] = obj
                if ik:
                    KEYS[ik] = (201, obj)
                save()
                return self.answer(201, obj, {"Location": "/api" + key + "/" + oid})
            if self.command == "PATCH":
                if key not in OBJECTS:
                    return self.error(404, "not_found", "no object at " + key)
                obj = merge(OBJECTS[key], body)
                obj["id"] = OBJECTS[key]["id"]
                obj["revision"] = OBJECTS[key].get("revision", 0) + 1
                OBJECTS[key] = obj
                save()
                return self.answer(200, obj)
            if self.command == "DELETE":
                if key not in OBJECTS:
                    return self.error(404, "not_found", "no object at " + key)
                del OBJECTS[key]
                save()
                return self.answer(204)
        return self.error(405, "method_not_allowed", "not a method of this service")

    def admin(self, what, raw):
        with LOCK:
            if what == "/objects":
                return self.answer(200, OBJECTS)
            if what == "/fail":
                FAIL.update(json.loads(raw))
                return self.answer(200, FAIL)
            if what.startswith("/edit/"):
                key = what[len("/edit"):]
                if key not in OBJECTS:
                    return self.error(404, "not_found", "no object at " + key)
                OBJECTS[key] = merge(OBJECTS[key], json.loads(raw))
                save()
                return self.answer(200, OBJECTS[key])
            if what.startswith("/delete/"):
                key = what[len("/delete"):]
                OBJECTS.pop(key, None)
                save()
                return self.answer(204)
        return self.error(404, "not_found", "no such endpoint")

    def run(self):
        try:
            self.handle_one()
        finally:
            line = {"method": self.command, "path": self.path, "status": self.status,
                    "idempotency_key": self.headers.get("Idempotency-Key"),
                    "content_type": self.headers.get("Content-Type"),
                    "authenticated": self.auth_ok, "replayed": getattr(self, "replayed", False),
                    "headers": {k: v for k, v in self.headers.items() if k.lower() != "authorization"},
                    "body": self.got.decode("utf-8", "replace")}
            with LOCK, open(os.path.join(ARGS.dir, "requests.log"), "a") as f:
                f.write(json.dumps(line) + "\n")

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = run


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--token-env")
    ap.add_argument("--basic-env")
    ap.add_argument("--latency-ms", type=float, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--redirect-to", default="http://169.254.169.254/latest/meta-data")
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if ARGS.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    save()
    tmp = os.path.join(ARGS.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, os.path.join(ARGS.dir, "port"))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A hostile Blob endpoint for the azure_blob provider's unit tests: it
listens on 127.0.0.1 at a port the system picks, writes the port to the
file its argument names (through a temporary name, renamed: a reader never
sees half of it), and
answers every request by the first segment of its path (the endpoint's
account path, "http://127.0.0.1:PORT/MODE"):

    echo   403 with an <Error> whose <Message> repeats the request's
           Authorization header and x-ms-date (a server fishing for what
           moksha would repeat)
    dtd    403 with an <Error> whose <Code> and <Message> are entities of
           an internal DTD ("billion laughs" style), to be refused, never
           expanded
    header 403 whose x-ms-error-code repeats the Authorization header
    swap   a container of stack `s` at bucket.x that is empty when listed
           and replaced right after by someone else's (deleted and made
           again, holding their blobs): a Delete Container bound to the
           lease taken before the list is refused (412
           LeaseNotPresentWithContainerOperation), one without a lease
           deletes the replacement and says so in its answer (202,
           x-ms-deleted: replacement)
    meta   a container of stack `s` at bucket.x whose metadata no Azure
           holds: a value with an ESC sequence and a bare CR
    name   the same with a metadata name that is no C# identifier

Python 3's standard library only. It runs until killed.
"""
import http.server
import os
import sys

DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Error [
<!ENTITY a "EXPANDEDEXPANDEDEXPANDED">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<Error><Code>&c;</Code><Message>&c;</Message></Error>"""


class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        mode = self.path.split("/")[1].split("?")[0]
        auth = self.headers.get("Authorization", "")
        extra = {}
        if mode == "swap":
            return self.swap()
        if mode in ("meta", "name"):
            return self.meta(mode)
        if mode == "echo":
            body = ("<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>you sent %s at %s"
                    "</Message></Error>" % (auth, self.headers.get("x-ms-date", ""))).encode()
        elif mode == "dtd":
            body = DTD
        else:
            body = b""
            extra["x-ms-error-code"] = auth
        self.send_response(403)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def swap(self):
        q = self.path.split("?", 1)[1] if "?" in self.path else ""
        st, hs, body = 200, {}, b""
        if self.command == "PUT" and "comp=lease" in q:
            act = self.headers.get("x-ms-lease-action", "")
            if act == "acquire":
                H.lease = self.headers.get("x-ms-proposed-lease-id", "00000000-0000-0000-0000-000000000001")
                st, hs = 201, {"x-ms-lease-id": H.lease}
            else:
                H.lease = None
        elif self.command == "GET" and "comp=list" in q:
            body = b'<?xml version="1.0"?><EnumerationResults><Blobs/></EnumerationResults>'
            H.swapped = True  # replaced right after this answer
        elif self.command == "GET":
            if H.swapped:
                hs = {"x-ms-meta-team": "theirs"}
            else:
                hs = {"x-ms-meta-moksha_stack": "s", "x-ms-meta-moksha_run": "r", "x-ms-meta-moksha_address": "bucket.x"}
        elif self.command == "DELETE":
            lease = self.headers.get("x-ms-lease-id")
            if H.swapped and lease:
                st, hs = 412, {"x-ms-error-code": "LeaseNotPresentWithContainerOperation"}
            elif H.swapped:
                st, hs = 202, {"x-ms-deleted": "replacement"}
            elif lease != H.lease:
                st, hs = 412, {"x-ms-error-code": "LeaseIdMismatchWithContainerOperation"}
            else:
                st = 202
        self.send_response(st)
        for k, v in hs.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def meta(self, mode):
        self.send_response(200)
        for k, v in (("moksha_stack", "s"), ("moksha_run", "r"), ("moksha_address", "bucket.x")):
            self.send_header("x-ms-meta-" + k, v)
        if mode == "meta":
            self.send_header("x-ms-meta-team", "ops\x1b[2J\rx-ms-meta-evil: 1")
        else:
            self.send_header("x-ms-meta-te am", "ops")
        self.send_header("Content-Length", "0")
        self.end_headers()

    lease = None
    swapped = False
    do_GET = do_PUT = do_DELETE = do_HEAD = answer

    def log_message(self, *a):
        pass


s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.server_address[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()

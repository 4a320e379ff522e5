#!/usr/bin/env python3
"""Change an Azure Blob account out of band, as a colleague with the
account key would: for the tests of the azure_blob provider. Python 3's
standard library only, with a Shared Key signer of its own (written from
Azure's documentation apart from moksha's), so that the tests do not
check moksha's signing with itself.

    python3 tests/azure/az.py COMMAND ARGS...     (AZ_ENDPOINT, AZ_ACCOUNT, AZ_KEY)

    show C                    {"metadata": {...}, "access": "blob"|"container"|"", "blobs": [...]}, or "gone"
    mk C [NAME=VALUE...]      a container made outside moksha, with that metadata
    meta C [NAME=VALUE...]    replace its metadata (the owner tag too, unless kept: --keep-owner)
    access C blob|container|private
    put C BLOB TEXT           a block blob
    rm C                      delete the container
    ls                        the account's containers, one a line
    dump                      {C: what show says of it} for every container
"""
import base64
import email.utils
import hashlib
import hmac
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

VERSION = "2021-12-02"


def sign(method, url, headers, account, key):
    u = urllib.parse.urlsplit(url)
    std = ["Content-Encoding", "Content-Language", "Content-Length", "Content-MD5", "Content-Type", "Date",
           "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range"]
    low = {k.lower(): v for k, v in headers.items()}
    parts = [method]
    for h in std:
        v = low.get(h.lower(), "")
        if h == "Content-Length" and v == "0":
            v = ""
        parts.append(v)
    sts = "\n".join(parts) + "\n"
    for k in sorted(k for k in low if k.startswith("x-ms-")):
        sts += "%s:%s\n" % (k, low[k].strip())
    sts += "/%s%s" % (account, u.path)
    q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
    for k in sorted(q, key=str.lower):
        sts += "\n%s:%s" % (k.lower(), ",".join(sorted(q[k])))
    mac = hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()
    return "SharedKey %s:%s" % (account, base64.b64encode(mac).decode())


def call(method, path, query="", headers=None, body=b""):
    endpoint, account, key = os.environ["AZ_ENDPOINT"], os.environ["AZ_ACCOUNT"], os.environ["AZ_KEY"]
    url = endpoint.rstrip("/") + path + ("?" + query if query else "")
    h = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": VERSION}
    h.update(headers or {})
    if method in ("PUT", "POST"):
        h["Content-Length"] = str(len(body))
        h.setdefault("Content-Type", "application/octet-stream")  # urllib would add its own, unsigned
    h["Authorization"] = sign(method, url, h, account, key)
    req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def must(res, *ok):
    if res[0] not in ok:
        sys.exit("az.py: %d %s" % (res[0], res[2][:300].decode(errors="replace")))
    return res


def pairs(args):
    return {"x-ms-meta-" + a.split("=", 1)[0]: a.split("=", 1)[1] for a in args}


def show(c):
    st, h, _ = call("GET", "/" + c, "restype=container")
    if st == 404:
        return None
    must((st, h, b""), 200)
    meta = {k.lower()[10:]: v for k, v in h.items() if k.lower().startswith("x-ms-meta-")}
    _, _, body = must(call("GET", "/" + c, "restype=container&comp=list"), 200)
    blobs = [b.findtext("Name") for b in ET.fromstring(body).iter("Blob")]
    low = {k.lower(): v for k, v in h.items()}
    return {"metadata": meta, "access": low.get("x-ms-blob-public-access", ""), "blobs": blobs}


def names():
    _, _, body = must(call("GET", "/", "comp=list"), 200)
    return [c.findtext("Name") for c in ET.fromstring(body).iter("Container")]


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == "show":
        s = show(args[0])
        print("gone" if s is None else json.dumps(s, sort_keys=True))
    elif cmd == "dump":
        print(json.dumps({c: show(c) for c in names()}, sort_keys=True))
    elif cmd == "mk":
        must(call("PUT", "/" + args[0], "restype=container", pairs(args[1:])), 201)
    elif cmd == "meta":
        keep = "--keep-owner" in args
        args = [a for a in args if a != "--keep-owner"]
        h = pairs(args[1:])
        if keep:
            _, old, _ = must(call("GET", "/" + args[0], "restype=container"), 200)
            h.update({k: v for k, v in old.items() if k.lower().startswith("x-ms-meta-moksha_")})
        must(call("PUT", "/" + args[0], "restype=container&comp=metadata", h), 200)
    elif cmd == "access":
        h = {} if args[1] == "private" else {"x-ms-blob-public-access": args[1]}
        must(call("PUT", "/" + args[0], "restype=container&comp=acl", h), 200)
    elif cmd == "put":
        must(call("PUT", "/%s/%s" % (args[0], urllib.parse.quote(args[1])), "",
                  {"x-ms-blob-type": "BlockBlob"}, args[2].encode()), 201)
    elif cmd == "rm":
        must(call("DELETE", "/" + args[0], "restype=container"), 202)
    elif cmd == "ls":
        for c in names():
            print(c)
    else:
        sys.exit("az.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv[1:])

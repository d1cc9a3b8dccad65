#!/usr/bin/python3
"""A scripted stand-in for S3, for the failure paths of tests/test_tg_s3.c
that a real server does not produce on demand (ExpiredToken, a 200 answer
holding an <Error>, a wrong checksum in an answer, endless 503s).

usage: scripted_s3.py PORTFILE LOGFILE SCRIPT.json
SCRIPT is a JSON list of answers used in order, one per request:
  {"status": 503, "headers": {"Name": "value"}, "body": "<Error>...</Error>"}
("length": N announces N bytes, sends the body, and closes the connection;
"body_b64" is a body given in base64, for bytes that are not text.)
An answer with "match" (a regular expression) is for the requests whose
"METHOD PATH" it is found in only; one with "keep": true stays in the list,
answering each such request. A request gets the first answer in the list
that is for it; with none left, it gets 200, an ETag and no body.
Each request is appended to LOGFILE as one JSON line: method, path, the
access key id from its Authorization header, its headers, the SHA-256 of
its body. No signature is checked here (tests/s3server.sh does that).
Binds 127.0.0.1 on a free port, writes it to PORTFILE; ends on SIGTERM.
"""
import base64
import hashlib
import http.server
import json
import os
import re
import signal
import sys
import threading

portfile, logfile, scriptfile = sys.argv[1:4]
with open(scriptfile, encoding="utf-8") as f:
    script = json.load(f)
script_lock = threading.Lock()


def answer_for(request):
    with script_lock:
        for i, ans in enumerate(script):
            if re.search(ans.get("match", ""), request):
                return ans if ans.get("keep") else script.pop(i)
    return {"status": 200, "headers": {"ETag": '"e0"'}, "body": ""}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")
        m = re.search(r"Credential=([^/]+)/", auth)
        entry = {
            "method": self.command,
            "path": self.path,
            "access_key": m.group(1) if m else "",
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body_len": len(body),
        }
        with open(logfile, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        ans = answer_for("%s %s" % (self.command, self.path))
        data = base64.b64decode(ans["body_b64"]) if "body_b64" in ans else ans.get("body", "").encode()
        self.send_response(ans.get("status", 200))
        for k, v in ans.get("headers", {}).items():
            self.send_header(k, v)
        if self.command != "HEAD":
            # "length" larger than the body, then a closed connection: a cut answer
            self.send_header("Content-Length", str(ans.get("length", len(data))))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        if ans.get("length", len(data)) != len(data):
            self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()

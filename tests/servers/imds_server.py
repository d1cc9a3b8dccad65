#!/usr/bin/python3
"""A local stand-in for the EC2 instance metadata service (IMDSv2 only), for
tests/test_tg_aws_creds.c. Enforces the token rules as EC2 does:

  PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds in 1..21600
      (else 400), and is refused (403) when X-Forwarded-For is present;
  every GET needs a valid, unexpired X-aws-ec2-metadata-token (else 401);
  GET /latest/meta-data/iam/security-credentials/       -> the role name
  GET /latest/meta-data/iam/security-credentials/ROLE   -> credentials JSON

usage: imds_server.py PORTFILE [--expire-in SECONDS] [--no-role] [--bad-json]
Binds 127.0.0.1 on a free port and writes the port to PORTFILE. Each
credentials answer has a new AccessKeyId (ASIATEST000001, ...02, ...) so a
test can tell a refresh from a cached answer. Ends on SIGTERM.
"""
import datetime
import http.server
import json
import os
import secrets
import signal
import sys
import time

ROLE = "tollgate-uploader-role"
state = {"issued": 0, "tokens": {}}
opts = {"expire_in": 3600, "no_role": False, "bad_json": False}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def answer(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "0") or 0)
        if length:
            self.rfile.read(length)
        if self.path != "/latest/api/token":
            return self.answer(404, "not found")
        if "X-Forwarded-For" in self.headers:
            return self.answer(403, "forbidden")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.answer(400, "missing or invalid X-aws-ec2-metadata-token-ttl-seconds")
        token = secrets.token_urlsafe(40)
        state["tokens"][token] = time.time() + int(ttl)
        return self.answer(200, token)

    def do_GET(self):
        token = self.headers.get("X-aws-ec2-metadata-token")
        if token is None or state["tokens"].get(token, 0) < time.time():
            return self.answer(401, "unauthorized")
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            if opts["no_role"]:
                return self.answer(404, "not found")
            return self.answer(200, ROLE)
        if self.path == base + ROLE:
            if opts["bad_json"]:
                return self.answer(200, '{"Code": "Success", "AccessKeyId": ')
            state["issued"] += 1
            exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=opts["expire_in"])
            body = {
                "Code": "Success",
                "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC",
                "AccessKeyId": "ASIATEST%06d" % state["issued"],
                "SecretAccessKey": secrets.token_hex(20),
                "Token": "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(300),
                "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            return self.answer(200, json.dumps(body), "application/json")
        return self.answer(404, "not found")


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    portfile = args.pop(0)
    while args:
        a = args.pop(0)
        if a == "--expire-in":
            opts["expire_in"] = int(args.pop(0))
        elif a == "--no-role":
            opts["no_role"] = True
        elif a == "--bad-json":
            opts["bad_json"] = True
        else:
            sys.exit("unknown option " + a)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()

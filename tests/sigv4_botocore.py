#!/usr/bin/python3
"""Sign requests with botocore's SigV4 (an independent signer) for tests/test_tg_sigv4.c.

Input (a JSON file named on the command line):
  {"access_key": .., "secret_key": .., "session_token": null | "..",
   "region": .., "service": "s3", "date": "YYYYMMDDTHHMMSSZ",
   "requests": [{"method": .., "url": "https://host/path?query", "headers": [[name, value], ...]}]}
Every header given is signed; x-amz-content-sha256 among them is the payload hash.
Output: one line per request, "<canonical request, hex SHA-256> <Authorization>".
Exit 77 when botocore cannot be imported.
"""
import hashlib
import json
import sys

try:
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as e:  # pragma: no cover - depends on the machine
    print("SKIP: botocore is not installed (apt-get install python3-botocore): %s" % e)
    sys.exit(77)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    creds = Credentials(spec["access_key"], spec["secret_key"], spec.get("session_token"))
    cls = S3SigV4Auth if spec["service"] == "s3" else SigV4Auth
    for r in spec["requests"]:
        auth = cls(creds, spec["service"], spec["region"])
        req = AWSRequest(method=r["method"], url=r["url"], data=b"")
        for name, value in r["headers"]:
            req.headers[name] = value
        req.context["timestamp"] = spec["date"]
        creq = auth.canonical_request(req)
        sts = auth.string_to_sign(req, creq)
        sig = auth.signature(sts, req)
        auth._inject_signature_to_request(req, sig)
        print(hashlib.sha256(creq.encode("utf-8")).hexdigest(), req.headers["Authorization"])


if __name__ == "__main__":
    main()

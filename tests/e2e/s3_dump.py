#!/usr/bin/env python3
"""List a bucket of the local S3 test server through a real S3 client.

Usage: s3_dump.py list            one JSON object per line: key, size, and the
                                  HEAD answer's metadata, server-side
                                  encryption, storage class, content type
       s3_dump.py get KEY FILE    download KEY into FILE
       s3_dump.py cat PREFIX      the bodies of the objects under PREFIX, one a
                                  line (for small JSON objects: events, index)

Reads TG_S3_ENDPOINT, TG_S3_ACCESS_KEY, TG_S3_SECRET_KEY, TG_S3_BUCKET and
TG_S3_REGION (as tests/s3server.sh prints them). botocore signs the requests,
so this also checks that the server answers a client other than ours.
Exit status 77 when botocore is not installed (apt-get install python3-botocore).
"""
import json
import os
import sys

try:
    import botocore.config
    import botocore.session
except ImportError:
    sys.stderr.write("s3_dump.py: botocore is not installed\n")
    sys.exit(77)


def client():
    session = botocore.session.get_session()
    return session.create_client(
        "s3",
        endpoint_url=os.environ["TG_S3_ENDPOINT"],
        region_name=os.environ.get("TG_S3_REGION", "us-east-1"),
        aws_access_key_id=os.environ["TG_S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["TG_S3_SECRET_KEY"],
        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    s3 = client()
    bucket = os.environ["TG_S3_BUCKET"]
    if sys.argv[1] == "list":
        token = None
        while True:
            kw = {"Bucket": bucket}
            if token:
                kw["ContinuationToken"] = token
            page = s3.list_objects_v2(**kw)
            for obj in page.get("Contents", []):
                head = s3.head_object(Bucket=bucket, Key=obj["Key"])
                print(json.dumps({
                    "key": obj["Key"],
                    "size": obj["Size"],
                    "metadata": head.get("Metadata", {}),
                    "sse": head.get("ServerSideEncryption"),
                    "storage_class": head.get("StorageClass"),
                    "content_type": head.get("ContentType"),
                }, sort_keys=True))
            if not page.get("IsTruncated"):
                return 0
            token = page["NextContinuationToken"]
    if sys.argv[1] == "cat" and len(sys.argv) == 3:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=sys.argv[2]):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                sys.stdout.write(body.decode("utf-8").strip().replace("\n", " ") + "\n")
        return 0
    if sys.argv[1] == "get" and len(sys.argv) == 4:
        body = s3.get_object(Bucket=bucket, Key=sys.argv[2])["Body"].read()
        with open(sys.argv[3], "wb") as f:
            f.write(body)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())

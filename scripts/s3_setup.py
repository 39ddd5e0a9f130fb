#!/usr/bin/env python3
"""Prepare the local moto S3 server for the Strata tests.

Usage: s3_setup.py ENDPOINT BUCKET [--timeout SECONDS] [--no-self-check]

1. Waits until ENDPOINT answers HTTP (any status counts as "up").
2. Creates BUCKET (moto starts with no buckets); an existing bucket is fine.
3. Self-check, on a scratch bucket that is deleted afterwards, that the
   server behaves the way the Rust tests rely on:
     - put-if-absent (If-None-Match: *) succeeds once, then fails 412;
     - put-if-match with a stale ETag fails 412;
     - head_object reports a non-STANDARD storage class.
   A failure here means the moto pin or the server setup is wrong, and
   saves chasing it through confusing Rust test failures.

Credentials/region come from the usual AWS_* environment variables.
"""

import argparse
import sys
import time
import urllib.error
import urllib.request


def wait_until_up(endpoint: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_err: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(endpoint + "/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered, just not with 2xx
        except (urllib.error.URLError, OSError) as e:
            last_err = e
            time.sleep(0.2)
    sys.exit(f"s3_setup: {endpoint} did not answer within {timeout}s ({last_err})")


def error_code(e) -> tuple[str, int]:
    return (
        e.response.get("Error", {}).get("Code", "?"),
        e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0),
    )


def self_check(s3, ClientError) -> None:
    bucket = "strata-harness-selfcheck"
    s3.create_bucket(Bucket=bucket)
    try:
        first = s3.put_object(Bucket=bucket, Key="k", Body=b"one", IfNoneMatch="*")
        try:
            s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfNoneMatch="*")
        except ClientError as e:
            code, status = error_code(e)
            if (code, status) != ("PreconditionFailed", 412):
                sys.exit(f"s3_setup: 2nd put-if-absent gave {code}/{status}, want 412")
        else:
            sys.exit("s3_setup: server ignored If-None-Match: * (2nd put succeeded)")
        body = s3.get_object(Bucket=bucket, Key="k")["Body"].read()
        if body != b"one":
            sys.exit(f"s3_setup: put-if-absent overwrote the object ({body!r})")

        try:
            s3.put_object(Bucket=bucket, Key="k", Body=b"x", IfMatch='"0000"')
        except ClientError as e:
            code, status = error_code(e)
            if status != 412:
                sys.exit(f"s3_setup: put with stale If-Match gave {code}/{status}")
        else:
            sys.exit("s3_setup: server ignored a stale If-Match")
        s3.put_object(Bucket=bucket, Key="k", Body=b"three", IfMatch=first["ETag"])

        s3.put_object(Bucket=bucket, Key="ia", Body=b"x", StorageClass="STANDARD_IA")
        sc = s3.head_object(Bucket=bucket, Key="ia").get("StorageClass")
        if sc != "STANDARD_IA":
            sys.exit(f"s3_setup: head_object StorageClass={sc!r}, want STANDARD_IA")
    finally:
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("bucket")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--no-self-check", action="store_true")
    args = parser.parse_args()
    endpoint = args.endpoint.rstrip("/")

    wait_until_up(endpoint, args.timeout)

    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )
    # The test bucket, and `<bucket>-archive` for moves between buckets.
    for bucket in (args.bucket, f"{args.bucket}-archive"):
        try:
            s3.create_bucket(Bucket=bucket)
        except ClientError as e:
            if error_code(e)[0] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        s3.head_bucket(Bucket=bucket)
        print(f"s3_setup: bucket {bucket!r} ready at {endpoint}")

    if not args.no_self_check:
        self_check(s3, ClientError)
        print("s3_setup: self-check passed (If-None-Match, If-Match, StorageClass)")


if __name__ == "__main__":
    main()

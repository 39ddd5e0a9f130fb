#!/usr/bin/env python3
"""Turn a fresh moto server into one that checks identities, for the access-denied tests.

Usage: s3_auth_setup.py ENDPOINT BUCKET

While moto still accepts anyone, this creates BUCKET and two IAM users, each with an access
key: `strata-writer` (an inline policy allowing s3:*) and `strata-denied` (no policy). It then
switches moto's IAM checks on (POST /moto-api/reset-auth with 0): from then on every request
must be signed by a known key and is checked against that user's policies, as on AWS.

Prints one JSON object: {"writer": {"id", "secret"}, "denied": {"id", "secret"}}.
Use a moto server of its own: the switch applies to the whole server.
"""

import json
import sys
import time
import urllib.error
import urllib.request

import boto3


def wait_until_up(endpoint: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(endpoint + "/", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    sys.exit(f"s3_auth_setup: {endpoint} did not answer within {timeout}s")


def main() -> None:
    endpoint, bucket = sys.argv[1], sys.argv[2]
    wait_until_up(endpoint)
    session = boto3.session.Session(
        aws_access_key_id="setup", aws_secret_access_key="setup", region_name="us-east-1"
    )
    s3 = session.client("s3", endpoint_url=endpoint)
    iam = session.client("iam", endpoint_url=endpoint)
    s3.create_bucket(Bucket=bucket)
    keys = {}
    for name, allowed in (("writer", True), ("denied", False)):
        user = f"strata-{name}"
        iam.create_user(UserName=user)
        if allowed:
            policy = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
            iam.put_user_policy(
                UserName=user, PolicyName="s3-all", PolicyDocument=json.dumps(policy)
            )
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[name] = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    # text/plain: a form content type would leave the body to the form parser, not to moto.
    request = urllib.request.Request(
        endpoint + "/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    print(json.dumps(keys))


if __name__ == "__main__":
    main()

"""A real S3-protocol server for the tests: moto in server mode, a subprocess on loopback.

The app talks HTTP to it with SigV4 signatures, as it would to AWS, R2 or MinIO. Once the bucket
exists the server checks every signature and IAM policy: a request with the wrong secret or an
unknown key is refused, so the tests show the storage really signs with the keys it was given.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import pytest

from bandstand.storage.s3 import prepared_session
from tests.support.postgres_servers import free_port

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import ObjectIdentifierTypeDef

BUCKET = "bandstand-test"
# Not us-east-1, the default: the region setting has to reach the client.
REGION = "eu-central-1"
USER = "bandstand-app"
ROLE = "bandstand-app-role"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Settings changes for `build_app(**changes)`: STORAGE_BACKEND=s3 on the server's bucket,
    with the access key of an IAM user allowed that bucket only."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_answering(endpoint, process, log)
        access_key_id, secret_access_key = _create_bucket_and_user(endpoint)
        set_auth_enforced(endpoint, enforced=True)
        yield {
            "storage_backend": "s3",
            "s3_endpoint_url": endpoint,
            "s3_bucket": BUCKET,
            "s3_region": REGION,
            "s3_access_key_id": access_key_id,
            "s3_secret_access_key": secret_access_key,
        }
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def set_auth_enforced(endpoint: str, *, enforced: bool) -> None:
    """Turn moto's signature and IAM checks on or off (they are off until the set-up is done).

    With them on, moto answers an anonymous GET of a public object with a 500 (it looks for an
    Authorization header), so a test of anonymous access turns them off for a moment."""
    count = b"0" if enforced else b"inf"
    response = httpx.post(f"{endpoint}/moto-api/reset-auth", content=count, timeout=5)
    response.raise_for_status()


def _wait_until_answering(endpoint: str, process: subprocess.Popen[bytes], log: Any) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{endpoint}/moto-api/", timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                message = f"moto did not start (exit code {process.poll()}); see {log}"
                raise RuntimeError(message) from None
            time.sleep(0.1)


def _create_bucket_and_user(endpoint: str) -> tuple[str, str]:
    """The bucket; an IAM user whose policy allows that bucket and nothing else but taking on
    ROLE; and ROLE, allowed the bucket too (for credentials that expire, as a container's)."""
    import boto3  # type: ignore[import-untyped]  # (no type information) only when S3 tests run

    # Any key works before the checks are on; the set-up runs outside any event loop.
    setup = {"endpoint_url": endpoint, "region_name": REGION}
    setup_keys = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
    iam = boto3.client("iam", **setup, **setup_keys)
    bucket_only = {
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    }
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(
        RoleName=ROLE,
        PolicyName="bucket",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [bucket_only]}),
    )
    may_take_role = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}
    iam.create_user(UserName=USER)
    iam.put_user_policy(
        UserName=USER,
        PolicyName="bucket",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [bucket_only, may_take_role]}
        ),
    )
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    s3 = boto3.client("s3", **setup, **setup_keys)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="session")
def s3_role_credentials(s3_server: dict[str, str]) -> dict[str, str]:
    """Temporary credentials for ROLE (key, secret and session token), taken on by the IAM
    user through STS with the checks on."""
    import boto3

    sts = boto3.client(
        "sts",
        endpoint_url=s3_server["s3_endpoint_url"],
        region_name=REGION,
        aws_access_key_id=s3_server["s3_access_key_id"],
        aws_secret_access_key=s3_server["s3_secret_access_key"],
    )
    role_arn = f"arn:aws:iam::{sts.get_caller_identity()['Account']}:role/{ROLE}"
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="tests")["Credentials"]
    return {
        "access_key_id": credentials["AccessKeyId"],
        "secret_access_key": credentials["SecretAccessKey"],
        "session_token": credentials["SessionToken"],
    }


@pytest.fixture
async def empty_bucket(s3_server: dict[str, str]) -> None:
    """The tests share one bucket: each starts with it empty."""
    bucket = s3_server["s3_bucket"]
    async with raw_s3(s3_server) as client:
        keys = await all_keys(client, bucket)
        for start in range(0, len(keys), 1000):  # the most one request may delete
            batch: list[ObjectIdentifierTypeDef] = [
                {"Key": key} for key in keys[start : start + 1000]
            ]
            await client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        assert await all_keys(client, bucket) == []


@asynccontextmanager
async def raw_s3(settings: dict[str, Any]) -> AsyncIterator[S3Client]:
    """A client of the tests' own, to look at the bucket behind the storage's back."""
    session = await anyio.to_thread.run_sync(_raw_session)
    async with session.create_client(
        "s3",
        endpoint_url=settings["s3_endpoint_url"],
        region_name=settings["s3_region"],
        aws_access_key_id=settings["s3_access_key_id"],
        aws_secret_access_key=settings["s3_secret_access_key"],
    ) as client:
        yield client


@functools.cache
def _raw_session() -> Any:
    """One botocore session for the tests' own clients: its models are read once per run."""
    return prepared_session()


async def all_keys(client: S3Client, bucket: str) -> list[str]:
    keys: list[str] = []
    async for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(keys)

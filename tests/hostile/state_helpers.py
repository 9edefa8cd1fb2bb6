"""Fixtures and helpers of the kill and fault tests: a moto S3 server on 127.0.0.1, a fault proxy
in front of it, and an S3 output root per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.hostile.fault_proxy import FaultProxy, fault_proxy


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """One moto S3 server for the module (a bucket per test keeps them apart)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(key, value)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        mp.delenv("COPYDESK_S3_ENDPOINT_URL", raising=False)
        yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A fault proxy in front of the moto server, with no fault until a test injects one."""
    with fault_proxy(moto_endpoint) as p:
        yield p


def new_bucket(endpoint: str) -> str:
    import boto3

    bucket = f"fault-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return bucket


def objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every object in the bucket, read straight from the server (no proxy)."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    keys = [
        o["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}

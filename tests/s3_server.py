"""A real S3-compatible server for the tests: moto in server mode on 127.0.0.1.

The fixtures that use it live in tests/conftest.py (`s3_server`, `moto_endpoint`, `s3_endpoint`);
these helpers serve where a test needs the server outside them. moto keeps its buckets per
process, not per server: every server started in a test process sees the same buckets, so tests
keep apart by bucket (`new_bucket`) or start from nothing (`reset`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Credentials moto accepts; nothing real is ever signed with them.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}

#: The settings that give every S3 client a default endpoint (`common.storage.s3_endpoint`).
ENDPOINT_SETTINGS = ("COPYDESK_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL")


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free port of 127.0.0.1 while the block runs; its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(endpoint: str) -> Any:
    """A boto3 S3 client of the server at `endpoint`, with the fake credentials."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=FAKE_CREDENTIALS["AWS_DEFAULT_REGION"],
    )


def new_bucket(endpoint: str, prefix: str = "test") -> str:
    """A new empty bucket, named `<prefix>-<random>`, on the server at `endpoint`."""
    bucket = f"{prefix}-{uuid.uuid4().hex[:12]}"
    client(endpoint).create_bucket(Bucket=bucket)
    return bucket


def reset(endpoint: str) -> None:
    """Delete every bucket of this process's moto servers."""
    import httpx

    httpx.post(f"{endpoint}/moto-api/reset").raise_for_status()


def objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every object in the bucket, read straight from the server (no proxy)."""
    s3 = client(endpoint)
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}

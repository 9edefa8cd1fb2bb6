"""The fault proxy of the fault tests as a fixture: in front of the session's moto S3 server
(`moto_endpoint`, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.fault_proxy import FaultProxy, fault_proxy


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A fault proxy in front of the moto server, with no fault until a test injects one."""
    with fault_proxy(moto_endpoint) as p:
        yield p

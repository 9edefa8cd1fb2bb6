"""Helpers of the tests that use the session's Dask cluster (`dask_cluster` in tests/conftest.py)."""

from __future__ import annotations


def set_worker_env(address: str, env: dict[str, str | None]) -> dict[str, dict[str, str | None]]:
    """Set (None: unset) variables in every worker of the cluster; returns what each had before."""
    import os

    from distributed import Client

    def apply(values: dict[str, str | None]) -> dict[str, str | None]:
        before = {k: os.environ.get(k) for k in values}
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        return before

    with Client(address, set_as_default=False) as client:
        return dict(client.run(apply, env))

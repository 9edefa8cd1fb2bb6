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


#: The stage functions of a distributed dedup (`dedup.distributed_stages`), as a task stream names them.
STAGES = frozenset(
    {"fingerprint_shard", "count_lines", "partition_shard", "match_range", "bucket_pairs", "verify_pairs"}
)


def stages_run(stream: list[dict]) -> set[str]:
    """The stage functions among the tasks a `distributed.get_task_stream` saw."""
    return {str(t["key"]).strip("('").rsplit("-", 1)[0] for t in stream} & STAGES

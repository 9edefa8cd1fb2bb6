"""Run a flow's tasks on a Dask cluster through prefect-dask's `DaskTaskRunner`.

    with dask_task_runner("local:2") as target:      # a LocalCluster of 2 worker processes
        backfill.with_options(task_runner=target.runner)(..., lanes=target.lanes)
    with dask_task_runner("tcp://scheduler:8786"):   # an existing cluster

`spec` is ``local`` or ``local:N`` (a `LocalCluster` of N single-threaded worker processes, started
for the run and closed after it), or the address of a running scheduler. ``COPYDESK_DASK_ADDRESS``
gives it when the command line does not.

What every worker needs, and what is done here so that it has it:

- ``PREFECT_API_URL``: a worker reports its task runs to the flow's API. Without it, each worker
  would start its own temporary Prefect server (54-80 s with two workers, STACK.md) and the flow
  would never see the task runs. A LocalCluster is given the API the flow reports to; when that is
  Prefect's ephemeral server, it is started before the workers, and they are given its address
  (`SubprocessASGIServer()` is the same instance the flow's client uses). The workers of an
  existing cluster must have it set already: that is checked before the run, and a worker without
  it is refused with a one-line message (`DaskSetupError`).
- ``PREFECT_SERVER_EPHEMERAL_ENABLED=false``: a worker that lost its API fails instead of
  starting a server of its own.
- No ``MALLOC_TRIM_THRESHOLD_``: Dask's nanny sets it (65536) in every worker it spawns, which
  slows numpy-heavy code (fingerprinting in a worker: about half the speed, docs/benchmarks.md).
  LocalCluster workers are spawned without it, even when this process has it in its environment
  (a nanny started here earlier with Dask's default leaves it there); infra/README.md says how to
  do the same on a cluster of your own.

`Target.lanes` is how many tasks can run at once (the workers' threads): ingest shards are cut
into that many lanes, each host in one lane only (`flows.lanes`), so a host is never fetched by two
workers at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from common.errors import CopydeskError

T = TypeVar("T")

log = logging.getLogger(__name__)

ENV_ADDRESS = "COPYDESK_DASK_ADDRESS"
#: Environment every worker is given (LocalCluster) or must have (a cluster of your own).
WORKER_ENV = ("PREFECT_API_URL", "PREFECT_SERVER_EPHEMERAL_ENABLED")
_TRIM = "MALLOC_TRIM_THRESHOLD_"


class DaskSetupError(CopydeskError):
    """The Dask cluster cannot run Copydesk's tasks: no such scheduler, a worker without the
    Prefect API, prefect-dask not installed, a bad ``--dask`` value."""


@dataclass(slots=True)
class Target:
    """A cluster ready for a flow: the task runner to give it, and how many tasks run at once."""

    runner: Any  # prefect_dask.DaskTaskRunner
    lanes: int
    address: str
    api_url: str


class Opaque(Generic[T]):  # T: an iterable (a set of ids)
    """A task argument that neither Prefect nor Dask walks into: a million ids given to a task.

    Prefect's `quote()` is a NamedTuple: Dask rebuilds every tuple of a task's arguments as a plain
    tuple, so under a `DaskTaskRunner` the task receives ``(value,)`` instead of the value. This
    is no tuple, no collection and no dataclass, so both pass it through as it is; iterating it
    iterates the value (``set(opaque)``).
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __iter__(self) -> Iterator[Any]:
        values: Iterable[Any] = self.value  # type: ignore[assignment]
        return iter(values)


def parse_spec(spec: str) -> tuple[str, int | None]:
    """(``local``, workers) or (scheduler address, None) of a ``--dask`` value.

    Raises:
        DaskSetupError: an empty value, or ``local:N`` with N not a positive integer.
    """
    spec = spec.strip()
    if not spec:
        raise DaskSetupError("--dask needs local, local:N or a scheduler address (tcp://host:8786)")
    if spec == "local" or spec.startswith("local:"):
        count = spec.partition(":")[2] or "2"
        if not count.isdigit() or int(count) < 1:
            raise DaskSetupError(f"--dask {spec}: N of local:N must be a positive number of workers")
        return "local", int(count)
    return (spec if "://" in spec else f"tcp://{spec}"), None


def spec_from(cli_value: str | None) -> str | None:
    """The ``--dask`` value, else ``COPYDESK_DASK_ADDRESS``, else None (run in-process)."""
    return cli_value or os.environ.get(ENV_ADDRESS) or None


@contextlib.contextmanager
def dask_task_runner(spec: str, *, connect_timeout_s: float = 30.0) -> Iterator[Target]:
    """A `Target` on the cluster `spec` names, for as long as the block runs (see the module doc).

    Raises:
        DaskSetupError: prefect-dask or distributed missing, the scheduler unreachable, a worker
            without ``PREFECT_API_URL``.
    """
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise _no_extra(exc) from exc
    where, workers = parse_spec(spec)
    if where == "local":
        api_url = flow_api_url()
        with _local_cluster(workers or 2, api_url) as cluster:
            address = cluster.scheduler_address
            yield Target(DaskTaskRunner(address=address), workers or 2, address, api_url)
        return
    with _connect(where, connect_timeout_s) as client:
        lanes = check_workers(client)
    yield Target(DaskTaskRunner(address=where), lanes, where, "")


@contextlib.contextmanager
def dask_client(spec: str, *, connect_timeout_s: float = 30.0) -> Iterator[Any]:
    """A `distributed.Client` of the cluster `spec` names, for work that reports to no Prefect API
    (`copydesk dedup --dask`); a LocalCluster for ``local[:N]``, closed after the block.

    Raises:
        DaskSetupError: distributed missing, the scheduler unreachable.
    """
    where, workers = parse_spec(spec)
    if where == "local":
        distributed = _distributed()
        with _local_cluster(workers or 2, None) as cluster, distributed.Client(cluster) as client:
            yield client
        return
    with _connect(where, connect_timeout_s) as client:
        yield client


def _no_extra(exc: ImportError) -> DaskSetupError:
    return DaskSetupError(f"--dask needs the dask extra: pip install 'copydesk[dask]' ({exc})")


def _distributed() -> Any:
    """The `distributed` module, or `DaskSetupError` when the dask extra is not installed."""
    try:
        import distributed
    except ImportError as exc:
        raise _no_extra(exc) from exc
    return distributed


def _connect(where: str, timeout_s: float) -> Any:
    """A `distributed.Client` of the scheduler at `where` (use it as a context manager).

    Raises:
        DaskSetupError: the scheduler unreachable, or `where` not an address distributed can use
            (a port that is no number, an unknown scheme). That is checked first: a `Client` given
            such an address raises a bare ValueError and leaves its event loop running, and its
            ``__del__`` later blocks for a minute.
    """
    distributed = _distributed()
    from distributed.comm import get_address_host_port

    try:
        get_address_host_port(where)
    except ValueError as exc:
        raise DaskSetupError(f"--dask {where}: not a Dask scheduler address ({exc})") from exc
    try:
        return distributed.Client(where, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise DaskSetupError(f"cannot reach the Dask scheduler at {where}: {exc}") from exc


def flow_api_url() -> str:
    """The Prefect API the flow reports to; Prefect's ephemeral server, started now, when none is set."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if url:
        return str(url)
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the instance the flow's own client will use: started once
    server.start()
    return server.api_url


def worker_env(api_url: str) -> dict[str, str]:
    return {"PREFECT_API_URL": api_url, "PREFECT_SERVER_EPHEMERAL_ENABLED": "false"}


@contextlib.contextmanager
def _local_cluster(workers: int, api_url: str | None) -> Iterator[Any]:
    import dask
    from distributed import LocalCluster

    # None drops the variable from what the nanny sets before spawning a worker (see the module doc).
    # A nanny that did set it leaves it in *this* process's environment, which every worker spawned
    # later inherits whatever the configuration says: it is kept out while the workers start.
    inherited = os.environ.pop(_TRIM, None)
    try:
        with (
            dask.config.set({f"distributed.nanny.pre-spawn-environ.{_TRIM}": None}),
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                host="127.0.0.1",
                env=worker_env(api_url) if api_url else {},
            ) as cluster,
        ):
            log.info("Dask LocalCluster of %d workers at %s", workers, cluster.scheduler_address)
            yield cluster
    finally:
        if inherited is not None:
            os.environ[_TRIM] = inherited


def check_workers(client: Any) -> int:
    """The threads of the cluster's workers, once each is seen to have a Prefect API to report to.

    Raises:
        DaskSetupError: no workers, or a worker without ``PREFECT_API_URL``.
    """
    threads = client.nthreads()
    if not threads:
        raise DaskSetupError(f"the Dask cluster at {client.scheduler.address} has no workers")
    seen = client.run(_worker_settings)
    missing = sorted(w for w, env in seen.items() if not env.get("PREFECT_API_URL"))
    if missing:
        raise DaskSetupError(
            f"Dask worker {missing[0]} has no PREFECT_API_URL ({len(missing)} of {len(seen)}): start every "
            "worker with the Prefect API the flow uses, and PREFECT_SERVER_EPHEMERAL_ENABLED=false"
        )
    return int(sum(threads.values()))


def _worker_settings() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in (*WORKER_ENV, _TRIM)}

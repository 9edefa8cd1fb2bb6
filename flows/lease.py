"""A lease on an output root, so that one run at a time writes its tables and its dedup index.

    <out>/state/lease.json   {"holder": run id, "owner": "pid@host", "what": run name,
                              "acquired_at": epoch s, "expires_at": epoch s}

The lease is taken by "create if absent": ``O_CREAT | O_EXCL`` on a local disk, a PUT with
``If-None-Match: *`` on S3 (and S3-compatible stores that support conditional writes: MinIO,
moto). Two runs cannot both create it. It expires `ttl_s` after it was last renewed; the run that
holds it renews it every third of that from a background thread, so a run that died (SIGKILL, a
lost machine) frees the store `ttl_s` later, and an expired lease may then be taken over. Takeover,
renewal and release are compare-and-swap: on S3 a PUT or DELETE with ``If-Match`` the ETag read,
on a local disk under an ``flock`` of ``lease.json.lock``. A run never deletes a lease it does not
hold. Times are wall-clock: hosts sharing a store should keep their clocks in sync (NTP).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.fs as pafs

from common.errors import TransientError
from common.storage import Location, StorageUnavailable, guard_writes, resolve
from flows.lease_store import LeaseError, LeaseStore, StoreIgnoresConditions, store_for

log = logging.getLogger(__name__)
#: Defaults of ``COPYDESK_LEASE_TTL_S`` and ``COPYDESK_LEASE_WAIT_S`` (`flows.settings.Settings`).
DEFAULT_LEASE_TTL_S = 300.0
DEFAULT_LEASE_WAIT_S = 120.0
#: Folders under the output root where runs write Parquet and state (the raw archive aside).
TABLE_DIRS = ("articles", "errors", "clusters", "links", "index", "state")


class LeaseBusy(LeaseError):
    """Another run holds the lease on the output root and did not let go in time."""


class LeaseLost(LeaseError, TransientError):
    """The lease this run held was taken over (it could not be renewed in time)."""


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """What the lease file says: who holds it, for what, until when."""

    holder: str
    owner: str
    what: str
    acquired_at: float
    expires_at: float

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> LeaseInfo | None:
        """The lease in `data`, or None when it is not one (then it is treated as expired)."""
        try:
            raw = json.loads(data)
            return cls(
                holder=str(raw["holder"]),
                owner=str(raw["owner"]),
                what=str(raw["what"]),
                acquired_at=float(raw["acquired_at"]),
                expires_at=float(raw["expires_at"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def describe(self) -> str:
        until = datetime.fromtimestamp(self.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{self.what!r} (run {self.holder}, {self.owner}) holds it until {until}"


class Lease:
    """One run's claim on an output root: `acquire`, keep alive while working, `release`.

    While `hold` keeps it, every write under the output root first calls `check`
    (`common.storage.guard_writes`): a run whose lease was taken over, or whose lease expired
    while it was paused or could not renew it, stops before its next write instead of writing
    over the run that holds the lease now.
    """

    def __init__(
        self,
        store: LeaseStore,
        *,
        holder: str,
        what: str,
        ttl_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.holder, self.what, self.ttl_s, self.clock = store, holder, what, ttl_s, clock
        self.owner = f"{os.getpid()}@{socket.gethostname()}"
        self.lost = False
        self._acquired_at: float | None = None
        #: The expiry this run last wrote; past it (less a margin) the lease is not known to be ours.
        self.expires_at = 0.0
        self._lock = threading.Lock()

    def _fresh(self, acquired_at: float | None = None) -> LeaseInfo:
        now = self.clock()
        return LeaseInfo(self.holder, self.owner, self.what, acquired_at or now, now + self.ttl_s)

    def acquire(self, *, wait_s: float, poll_s: float = 1.0) -> None:
        """Take the lease, waiting up to `wait_s` for its holder to let go or for it to expire.

        Every pass that does not get it sleeps, and the wait ends at `wait_s` whatever the store
        answers, so an odd store (a lease changing under us, a path that is not a file) cannot
        make the loop spin.

        Raises:
            LeaseBusy: another run still holds it after `wait_s`; the message is one line.
            StoreIgnoresConditions: the store took a write its condition should have refused.
        """
        deadline = self.clock() + wait_s
        said = False
        while True:
            mine = self._fresh()
            info: LeaseInfo | None = None
            if self.store.create(mine.to_bytes()):
                self._took(mine)
                return
            found = self.store.read()
            raced = found is None  # released between our two calls: try to create it again
            if found is not None:
                data, token = found
                info = LeaseInfo.from_bytes(data)
                if info is None or info.expires_at <= self.clock() or info.holder == self.holder:
                    if self.store.replace(token, mine.to_bytes()):
                        if info is not None and info.holder != self.holder:
                            log.warning(
                                "took over the expired lease on %s: %s", self.store.uri, info.describe()
                            )
                        self._took(mine)
                        return
                    raced = True  # someone else changed it meanwhile: look again
            now = self.clock()
            if now >= deadline:
                who = info.describe() if info is not None else "the lease kept changing under this run"
                raise LeaseBusy(
                    f"{self.store.uri} is busy: {who}; gave up after waiting {wait_s:g} s "
                    "(COPYDESK_LEASE_WAIT_S)"
                )
            if not said and info is not None and not raced:
                log.info(
                    "waiting up to %g s for the lease on %s: %s", wait_s, self.store.uri, info.describe()
                )
                said = True
            pause = min(poll_s, 0.05) if raced else poll_s
            time.sleep(max(0.01, min(pause, deadline - now)))

    def _took(self, info: LeaseInfo) -> None:
        self._acquired_at = info.acquired_at
        self.expires_at = info.expires_at
        self.lost = False
        try:
            self.store.verify_conditions(info.to_bytes())
        except StoreIgnoresConditions:
            self.release()
            raise
        log.info("took the lease on %s for %s", self.store.uri, self.what)

    def renew(self) -> bool:
        """Push the expiry `ttl_s` ahead; False (and `lost` set) when the lease is no longer ours."""
        with self._lock:
            if self.lost:
                return False
            for _ in range(3):
                found = self.store.read()
                info = LeaseInfo.from_bytes(found[0]) if found is not None else None
                if found is None or info is None or info.holder != self.holder:
                    break
                mine = self._fresh(self._acquired_at)
                if self.store.replace(found[1], mine.to_bytes()):
                    self.expires_at = mine.expires_at
                    return True
                # changed between our read and write: judge again
            self.lost = True
            return False

    @property
    def margin_s(self) -> float:
        """How long before its expiry the lease stops counting as ours: a write started then may
        end after it."""
        return self.ttl_s / 10

    def check(self) -> None:
        """Raise `LeaseLost` unless the lease is still this run's: what it writes next is not safe.

        Past the expiry this run last wrote (a paused process, renewals failing), the lease is
        renewed on the spot; if that fails or finds another holder, the lease is lost for good.
        """
        if not self.lost and self.clock() >= self.expires_at - self.margin_s:
            try:
                self.renew()
            except Exception as exc:  # any failure: the lease cannot be shown to be ours
                log.error("could not renew the expiring lease on %s: %s", self.store.uri, exc)
                self.lost = True
        if self.lost:
            raise LeaseLost(
                f"lost the lease on {self.store.uri} (not renewed in time); the next run redoes this"
            )

    @contextlib.contextmanager
    def kept_alive(self, every_s: float | None = None) -> Iterator[Lease]:
        """Renew the lease from a background thread (every third of its life) while the block runs."""
        stop = threading.Event()
        interval = every_s if every_s is not None else self.ttl_s / 3

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    if not self.renew():
                        log.error("lost the lease on %s: another run took it over", self.store.uri)
                        return
                except Exception as exc:  # the thread outlives any error: the guard reads `lost`
                    if self.clock() >= self.expires_at - self.margin_s:
                        self.lost = True
                        log.error("lost the lease on %s: could not renew it in time: %s", self.store.uri, exc)
                        return
                    log.warning("could not renew the lease on %s (will retry): %s", self.store.uri, exc)

        thread = threading.Thread(target=loop, name="copydesk-lease", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()

    def release(self) -> None:
        """Delete the lease if it is still ours (a lease taken over by another run is left alone)."""
        for _ in range(3):
            found = self.store.read()
            info = LeaseInfo.from_bytes(found[0]) if found is not None else None
            if found is None or info is None or info.holder != self.holder:
                if not self.lost:
                    log.warning("the lease on %s was no longer ours at release", self.store.uri)
                return
            if self.store.delete(found[1]):
                log.info("released the lease on %s", self.store.uri)
                return


@contextlib.contextmanager
def hold(
    out: str,
    *,
    holder: str,
    what: str,
    ttl_s: float,
    wait_s: float,
    endpoint_url: str | None = None,
    poll_s: float = 1.0,
) -> Iterator[Lease]:
    """Hold the lease on `out` for the block: acquire (or raise `LeaseBusy`), renew, release; every
    write under `out` meanwhile checks the lease first (`common.storage.guard_writes`)."""
    lease = Lease(store_for(out, endpoint_url=endpoint_url), holder=holder, what=what, ttl_s=ttl_s)
    lease.acquire(wait_s=wait_s, poll_s=poll_s)
    try:
        with lease.kept_alive(), guard_writes(resolve(out, endpoint_url=endpoint_url).uri, lease.check):
            yield lease
    finally:
        lease.release()


def lease_times_from_env() -> tuple[float, float]:
    """``COPYDESK_LEASE_TTL_S`` and ``COPYDESK_LEASE_WAIT_S`` (or their defaults), for commands that
    take the lease without loading every setting (`copydesk dedup` imports neither ingest nor Prefect).

    Raises:
        LeaseError: a value that is not a number (TTL > 0, wait >= 0).
    """
    times = []
    for name, default, least in (
        ("COPYDESK_LEASE_TTL_S", DEFAULT_LEASE_TTL_S, 1e-9),
        ("COPYDESK_LEASE_WAIT_S", DEFAULT_LEASE_WAIT_S, 0.0),
    ):
        raw = os.environ.get(name)
        try:
            value = float(raw) if raw not in (None, "") else default
        except ValueError:
            value = -1.0
        if not value >= least:
            raise LeaseError(f"{name}={raw!r} is not allowed: give a number of seconds")
        times.append(value)
    return times[0], times[1]


def sweep_leftovers(root: Location, tables: tuple[str, ...] = TABLE_DIRS) -> list[str]:
    """Delete the temporary files (``.tmp-*``) a dead writer left in the tables of an output root.

    Only safe while holding the lease: then no other run is writing one. DuckDB and Polars read
    ``**/*.parquet`` and fail on a half-written ``.tmp-*.parquet`` that `pyarrow.dataset` skips;
    on S3 a writer killed between writing its temporary key and copying it into place leaves one.
    """
    gone: list[str] = []
    for name in tables:
        loc = root.child(*name.split("/"))
        try:
            infos = loc.fs.get_file_info(pafs.FileSelector(loc.path, recursive=True, allow_not_found=True))
        except (OSError, pa.ArrowException) as exc:
            raise StorageUnavailable(f"cannot list {loc.uri}: {exc}") from exc
        for info in infos:
            if info.type == pafs.FileType.File and info.base_name.startswith(".tmp-"):
                with contextlib.suppress(FileNotFoundError):
                    loc.fs.delete_file(info.path)
                gone.append(info.path)
    if gone:
        log.warning("removed %d temporary files left by an interrupted run under %s", len(gone), root.uri)
    return gone

"""Environment Prefect needs to run Copydesk quietly on a fresh machine, set before Prefect is imported.

Prefect reads its settings once, when `prefect` is first imported, so `configure()` must run
first: the CLI calls it before importing anything from `flows.pipeline`, and `tests/conftest.py`
at collection time. Values the user set in the environment are never overridden.

What each default is for:

- ``PREFECT_HOME``: Prefect's database, memo store and result storage go to the data folder
  (``<out>/.prefect``), not to ``~/.prefect`` shared with every other project. The folder is
  created here: Prefect makes it without its parents and, failing that, cannot open its database.
- ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``: the temporary API server needs about 26 s
  to migrate a fresh database on a small machine; Prefect's default of 20 s makes the first run
  fail with "Timed out while attempting to connect to ephemeral Prefect API server".
- ``PREFECT_SERVER_ANALYTICS_ENABLED`` and ``DO_NOT_TRACK``: without network the server's
  telemetry service logs "ERROR | prefect.server.services.telemetry - Failed to send telemetry".
- ``PREFECT_LOGGING_EXTRA_LOGGERS``: the progress `ingest` and `dedup` log (standard `logging`),
  and what `flows`' plain modules say (the lease: waiting for it, taking over an expired one),
  goes to Prefect's console and to the flow run's logs in the UI.
- ``PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW``: with those loggers attached, `dedup` used as a
  library in a process that has imported Prefect (``copydesk dedup`` in tests, a notebook) would
  warn "Logger 'dedup.engine' attempted to send logs to the API without a flow run id" on
  every log line; outside a flow run they only go to the console.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from urllib.parse import urlparse

#: Where Copydesk keeps its data unless told otherwise (also `Settings.out`'s default).
DEFAULT_DATA_DIR = "./copydesk-data"

DEFAULTS: dict[str, str] = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "common,ingest,dedup,flows",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}


def prefect_home_for(out: str | None) -> str:
    """The PREFECT_HOME for an output root: `<out>/.prefect` when it is local, else the default folder's."""
    root = out or os.environ.get("COPYDESK_OUT") or DEFAULT_DATA_DIR
    parsed = urlparse(root)
    if parsed.scheme not in ("", "file"):
        root = DEFAULT_DATA_DIR
    elif parsed.scheme == "file":
        root = parsed.path
    return str(Path(root).expanduser().resolve() / ".prefect")


def configure(out: str | None = None, *, env: dict[str, str] | None = None) -> dict[str, str]:
    """Fill in Copydesk's Prefect defaults in `env` (default `os.environ`); returns what it set.

    Args:
        out: the run's output root; a local one holds PREFECT_HOME, an `s3://` one does not.
        env: the mapping to update, for tests; values already there are kept.
    """
    target = os.environ if env is None else env
    wanted = {"PREFECT_HOME": prefect_home_for(out), **DEFAULTS}
    applied = {k: v for k, v in wanted.items() if k not in target}
    if "PREFECT_HOME" in applied:
        # Prefect creates its home without parents: for a fresh --out it fails to, then its server
        # cannot open its database and the run dies with "Timed out ... ephemeral Prefect API server".
        Path(applied["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    target.update(applied)
    if env is None and applied and "prefect" in sys.modules:
        warnings.warn(
            "prefect was imported before flows.prefect_env.configure(); "
            f"{', '.join(sorted(applied))} may not take effect",
            RuntimeWarning,
            stacklevel=2,
        )
    return applied

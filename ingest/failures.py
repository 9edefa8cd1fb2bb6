"""Turning an exception into an `ErrorRecord` (a row of ``errors/``), the one way every stage does it."""

from __future__ import annotations

import logging
from typing import Literal

from ingest.records import ErrorRecord
from ingest.timeutil import utcnow

log = logging.getLogger(__name__)

Stage = Literal["discover", "fetch", "archive", "extract"]
STAGES: tuple[str, ...] = ("discover", "fetch", "archive", "extract")
#: Longest message kept in an error row.
MAX_MESSAGE = 2000


def error_record(
    *, url: str, source: str, stage: Stage, error: BaseException | str, run_id: str, kind: str | None = None
) -> ErrorRecord:
    """An `ErrorRecord` for `error`; `kind` is the exception's class name unless given."""
    if isinstance(error, BaseException):
        kind = kind or type(error).__name__
        message = str(error) or type(error).__name__
    else:
        kind = kind or "IngestError"
        message = error
    return ErrorRecord(
        url=url,
        source=source,
        stage=stage,
        kind=kind,
        message=message[:MAX_MESSAGE],
        run_id=run_id,
        at=utcnow(),
    )

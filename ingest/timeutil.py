"""Dates as pages, feeds, sitemaps and WARC files write them, turned into aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=2)
#: Bounds of any date kept, plausible or not (a fetch date from a WARC, a date from our own header):
#: outside them a date is an error in the input (0001-01-01, 9999-12-31), read as unknown.
_EARLIEST_ANY = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST_ANY_SLACK = timedelta(days=366)
_SPACES = re.compile(r"\s+")


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def has_zone(text: str) -> bool:
    """Whether an ISO 8601 / RFC 2822 date string carries a time zone (``Z``, ``+01:00``, ``GMT``)."""
    text = text.strip()
    return bool(re.search(r"(Z|[+-]\d\d:?\d\d|\b(GMT|UTC|UT)\b)$", text, re.IGNORECASE))


def parse_datetime(text: str | None, *, plausible: bool = True) -> datetime | None:
    """Parse an ISO 8601 / W3C datetime or an RFC 2822 date into aware UTC; None if it is not one.

    A date without a time is midnight UTC; a time without a zone is taken as UTC.
    With `plausible`, dates before 1990 or more than two days ahead are treated as noise (None):
    a publication date, unlike a fetch date, cannot be in the future. Without it, dates before 1970
    or more than a year ahead still are (``9999-12-31T23:00:00-05:00`` is not even a UTC date):
    one bad date is an unknown date, never an error for the document that holds it.
    """
    if not text:
        return None
    text = _SPACES.sub(" ", text.strip())
    if not text:
        return None
    parsed: datetime | None = None
    candidate = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
    if parsed is None:
        match = re.match(r"^(\d{4})-(\d{2})-(\d{2})\b", text)
        if match:
            try:
                parsed = datetime.combine(date(*map(int, match.groups())), datetime.min.time())
            except ValueError:
                parsed = None
    if parsed is None:
        return None
    try:
        parsed = to_utc(parsed)
    except OverflowError:  # 9999-12-31 in a zone west of UTC, 0001-01-01 east of it
        return None
    return parsed if is_sane(parsed, plausible=plausible) else None


def is_sane(when: datetime, *, plausible: bool = False) -> bool:
    """Whether an aware datetime is one to keep (see `parse_datetime` for the bounds)."""
    now = utcnow()
    if plausible:
        return _EARLIEST <= when <= now + _FUTURE_SLACK
    return _EARLIEST_ANY <= when <= now + _LATEST_ANY_SLACK


def in_window(when: datetime | None, *, since: datetime | None, until: datetime | None) -> bool:
    """Whether `when` lies in ``[since, until)``; an unknown time is always in."""
    if when is None:
        return True
    if since is not None and when < to_utc(since):
        return False
    return not (until is not None and when >= to_utc(until))

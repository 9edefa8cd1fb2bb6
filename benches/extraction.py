"""`make eval-extract`: extraction quality of Copydesk beside bare trafilatura, on the same pages, in one run.

    python -m benches.extraction [PAGES_DIR] [--out docs/benchmarks.md] [--limit N]

PAGES_DIR (default ``../shared/data/extraction/scrapinghub-aeb``, relative to the repository)
holds ``html/<id>.html[.gz]`` and ``ground-truth.json`` (id -> {articleBody, url}); when it is
absent the command prints ``skip`` and exits 0. Measured:

- text: word-4-gram precision, recall and F1 against ``articleBody``, computed as the
  article-extraction benchmark (and ``../shared/eval/extraction.py``) does: per page tp/fp/fn
  normalised, mean precision and recall, F1 of the means. Copydesk's text is what `extract_page`
  puts in ``articles/`` (empty for a page it rejects); bare is ``trafilatura.extract`` with its
  defaults on the page decoded as UTF-8.
- published date: among the pages that state their publication date in their markup (JSON-LD
  ``datePublished``, a ``article:published_time`` / ``datePublished`` meta or itemprop, else a
  ``<time datetime>``), the share where Copydesk's ``published_at`` falls on the stated day (in
  UTC, or in the page's own zone). Beside it, the day trafilatura's metadata (htmldate) finds.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import re
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benches.sections import BENCHMARKS_MD, DATA_ROOT, commit, replace_section
from ingest.errors import IngestError
from ingest.extract import DEFAULT_OPTIONS, extract_page
from ingest.records import PageRef, RawPage
from ingest.urls import source_for

log = logging.getLogger(__name__)

DEFAULT_DATA = DATA_ROOT / "extraction/scrapinghub-aeb"
SECTION = "## Extraction (`make eval-extract`)"
_TOKEN = re.compile(r"\w+")
_PUBLISHED_KEYS = ("article:published_time", "og:article:published_time", "datepublished")


@dataclass(slots=True)
class EvalPage:
    """One page of the set: its id, URL, human-checked article text and raw HTML."""

    key: str
    url: str
    truth: str
    body: bytes


@dataclass(slots=True)
class Scores:
    """Mean precision and recall over pages, and the F1 of those means."""

    pages: int
    precision: float
    recall: float
    f1: float


@dataclass(slots=True)
class Report:
    copydesk: Scores
    bare: Scores
    copydesk_per_s: float
    bare_per_s: float
    rejected: list[str] = field(default_factory=list)
    dated: int = 0
    date_hits: int = 0
    htmldate_hits: int = 0


def load_pages(root: Path, *, limit: int | None = None) -> list[EvalPage]:
    """The pages of the set under `root`, in ground-truth order (the first `limit` of them)."""
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key, entry in list(truth.items())[:limit]:
        plain, packed = root / "html" / f"{key}.html", root / "html" / f"{key}.html.gz"
        body = plain.read_bytes() if plain.exists() else gzip.decompress(packed.read_bytes())
        pages.append(EvalPage(key, entry["url"], entry["articleBody"], body))
    return pages


def grams(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """Multiset of word n-grams (``\\w+`` tokens), as the benchmark counts them."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def page_counts(truth: str, predicted: str) -> tuple[float, float, float]:
    """(tp, fp, fn) of one page, normalised by their sum."""
    a, b = grams(truth), grams(predicted)
    keys = a.keys() | b.keys()
    tp = sum(min(a[k], b[k]) for k in keys)
    fp = sum(max(0, b[k] - a[k]) for k in keys)
    fn = sum(max(0, a[k] - b[k]) for k in keys)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def summarize(rows: list[tuple[float, float, float]]) -> Scores:
    """Mean precision, mean recall and their F1, with the benchmark's conventions for empty pages."""

    def precision(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def recall(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    ps = [precision(*r) for r in rows if r[0] + r[1] > 0]
    rs = [recall(*r) for r in rows if r[0] + r[2] > 0]
    p = sum(ps) / len(ps) if ps else 0.0
    r = sum(rs) / len(rs) if rs else 0.0
    return Scores(len(rows), p, r, 2 * p * r / (p + r) if p + r else 0.0)


def as_raw_page(page: EvalPage) -> RawPage:
    ref = PageRef(url=page.url, source=source_for(page.url), discovered_from="evaluation")
    return RawPage(
        ref=ref,
        final_url=page.url,
        status=200,
        headers={"content-type": "text/html"},
        body=page.body,
        fetched_at=datetime.now(UTC),
    )


def stated_days(body: bytes) -> set[date] | None:
    """The day(s) a page states it was published (UTC and its own zone), or None if it states none.

    Read independently of Copydesk's own metadata code: the first plausible value among JSON-LD
    ``datePublished``, published-time metas / itemprops, then ``<time datetime>``.
    """
    import lxml.etree
    import lxml.html

    try:
        tree = lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return None
    candidates: list[str] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json":
            try:
                candidates += _json_values(json.loads(script.text or "", strict=False), "datePublished")
            except ValueError:
                continue
    for elem in tree.iter("meta"):
        name = (elem.get("property") or elem.get("name") or elem.get("itemprop") or "").strip().lower()
        if name in _PUBLISHED_KEYS and elem.get("content"):
            candidates.append(elem.get("content", ""))
    candidates += [
        e.get("content") or e.get("datetime") or "" for e in tree.xpath('//*[@itemprop="datePublished"]')
    ]
    candidates += [e.get("datetime", "") for e in tree.iter("time")]
    for text in candidates:
        days = _days_of(text)
        if days:
            return days
    return None


def _json_values(data: Any, key: str) -> list[str]:
    if isinstance(data, list):
        return [v for item in data for v in _json_values(item, key)]
    if not isinstance(data, dict):
        return []
    found = [str(data[key])] if isinstance(data.get(key), (str, int)) else []
    return found + [v for value in data.values() for v in _json_values(value, key)]


def _days_of(text: str) -> set[date]:
    """The stated day and its UTC day, if `text` is a plausible publication time."""
    from dateutil import parser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown zone names (EST, IST): the stated day still counts
        try:
            when = parser.parse(text.strip(), fuzzy=True)
        except (ValueError, OverflowError):
            return set()
    if not datetime(1990, 1, 1) <= when.replace(tzinfo=None) <= datetime.now() + timedelta(days=2):
        return set()
    days = {when.date()}
    if when.tzinfo is not None and when.utcoffset() is not None:
        days.add(when.astimezone(UTC).date())
    return days


def copydesk_extract(page: EvalPage) -> tuple[str, datetime | None]:
    """Copydesk's text and published time for `page`; ("", None) when it rejects the page."""
    try:
        article = extract_page(as_raw_page(page))
    except IngestError as exc:
        log.info("Copydesk rejected %s: %s", page.url, exc)
        return "", None
    return article.text, article.published_at


def evaluate(pages: list[EvalPage]) -> Report:
    """Run Copydesk and bare trafilatura on `pages` and score both."""
    import trafilatura

    ours_rows, bare_rows, rejected = [], [], []
    published: dict[str, datetime | None] = {}
    for page in pages[:10]:  # imports, models and first-call set-up are not what is timed
        trafilatura.extract(page.body.decode("utf-8", "replace"), url=page.url)
        copydesk_extract(page)
    started = time.perf_counter()
    for page in pages:
        text, published[page.key] = copydesk_extract(page)
        if not text:
            rejected.append(page.key)
        ours_rows.append(page_counts(page.truth, text))
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    for page in pages:
        bare = trafilatura.extract(page.body.decode("utf-8", "replace"), url=page.url) or ""
        bare_rows.append(page_counts(page.truth, bare))
    bare_s = time.perf_counter() - started
    report = Report(
        copydesk=summarize(ours_rows),
        bare=summarize(bare_rows),
        copydesk_per_s=len(pages) / ours_s,
        bare_per_s=len(pages) / bare_s,
        rejected=rejected,
    )
    for page in pages:
        days = stated_days(page.body)
        if not days:
            continue
        report.dated += 1
        ours = published[page.key]
        report.date_hits += ours is not None and ours.astimezone(UTC).date() in days
        meta = trafilatura.extract_metadata(page.body.decode("utf-8", "replace"), default_url=page.url)
        report.htmldate_hits += bool(meta.date) and date.fromisoformat(str(meta.date)[:10]) in days
    return report


def render(report: Report, *, commit: str, data: str) -> str:
    """The markdown section for docs/benchmarks.md."""
    import trafilatura

    ours, bare = report.copydesk, report.bare

    def pct(hits: int) -> str:
        return f"{hits}/{report.dated} ({hits / report.dated:.1%})" if report.dated else "n/a"

    lines = [
        SECTION,
        "",
        f"{ours.pages} real article pages with human-checked text (`{data}`), both extractors in one run; "
        "word-4-gram scores as `../shared/eval/extraction.py` computes them. "
        f"Commit `{commit}`, trafilatura {trafilatura.__version__}, Copydesk options "
        f"`{DEFAULT_OPTIONS.describe()}`.",
        "",
        "| figure | Copydesk `extract_page` | bare `trafilatura.extract` |",
        "|---|---|---|",
        f"| precision | {ours.precision:.4f} | {bare.precision:.4f} |",
        f"| recall | {ours.recall:.4f} | {bare.recall:.4f} |",
        f"| **F1** | **{ours.f1:.4f}** | {bare.f1:.4f} |",
        f"| pages without text | {len(report.rejected)} | - |",
        f"| published day found, of pages stating one | {pct(report.date_hits)} | "
        f"{pct(report.htmldate_hits)} (trafilatura metadata) |",
        f"| pages/s, one process | {report.copydesk_per_s:.0f} | {report.bare_per_s:.0f} |",
        "",
        "A page states its date when its markup carries JSON-LD `datePublished`, a published-time "
        "meta or itemprop, or a `<time datetime>`; found means `published_at` falls on that day "
        "(in UTC or in the page's own zone). Pages without text are those Copydesk rejects "
        "(fewer words than `MIN_WORDS`) and score as empty.",
        "",
    ]
    return "\n".join(lines)


def git_commit(repo: Path | None = None) -> str:
    """The commit the figures are measured on (see `benches.sections.commit`)."""
    return commit(repo)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA, help="the page set")
    ap.add_argument("--out", type=Path, default=BENCHMARKS_MD, help="file to update")
    ap.add_argument("--limit", type=int, default=None, help="evaluate the first N pages only")
    args = ap.parse_args(argv)
    if not (args.data / "ground-truth.json").exists():
        print(f"skip: no extraction data at {args.data}")
        return 0
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("htmldate").setLevel(logging.ERROR)
    pages = load_pages(args.data, limit=args.limit)
    report = evaluate(pages)
    section = render(report, commit=git_commit(), data=os.path.relpath(args.data))
    print(section)
    if args.limit is None:
        replace_section(args.out, SECTION, section)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

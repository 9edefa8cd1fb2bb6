"""`make eval-extract`: extraction quality of Copydesk beside bare trafilatura, on the same pages, in one run.

    python -m benches.extraction [PAGES_DIR ...] [--hostile] [--out docs/benchmarks.md] [--limit N]

Each PAGES_DIR (default: ``scrapinghub-aeb`` and ``readability-pages`` under
``../shared/data/extraction``, and the generated hostile set) holds ``html/<id>.html[.gz]`` and
``ground-truth.json`` (id -> {articleBody, url}); a set that is absent is skipped, and with none
the command prints ``skip`` and exits 0. ``--hostile`` adds the hostile set of
``tests/ingest/cases/hostile.py`` (old layouts, frames, one huge div, bare sports and TV pages, and
pages that are not articles) to the sets named. Measured per set:

- text: word-4-gram precision, recall and F1 against ``articleBody``, computed as the
  article-extraction benchmark (and ``../shared/eval/extraction.py``) does: per page tp/fp/fn
  normalised, mean precision and recall, F1 of the means. Copydesk's text is what `extract_page`
  puts in ``articles/`` (empty for a page it rejects); bare is ``trafilatura.extract`` with its
  defaults on the page decoded as UTF-8.
- pages lost: no text, though the ground truth has `LOST_WORDS` words or more; F1 by the stage
  of the extraction chain that gave the text (`Article.extractor`); the 10 worst pages.
- author: the share of pages where one is found, beside trafilatura's metadata; where the set
  names the byline (readability-pages), the share where it matches.
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
from ingest.chain import STAGES
from ingest.errors import IngestError
from ingest.extract import DEFAULT_OPTIONS, extract_page
from ingest.records import PageRef, RawPage
from ingest.urls import source_for

log = logging.getLogger(__name__)

DEFAULT_DATA = DATA_ROOT / "extraction/scrapinghub-aeb"
DEFAULT_SETS = (DEFAULT_DATA, DEFAULT_DATA.parent / "readability-pages")
HOSTILE = "hostile"
#: A page is lost when Copydesk gives no text although its ground truth has this many words.
LOST_WORDS = 100
WORST = 10
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
    byline: str | None = None


@dataclass(slots=True)
class Scores:
    """Mean precision and recall over pages, and the F1 of those means."""

    pages: int
    precision: float
    recall: float
    f1: float


@dataclass(slots=True)
class PageResult:
    """One page: Copydesk's text, stage (or why it refused the page) and metadata, and bare trafilatura's."""

    page: EvalPage
    text: str
    stage: str
    bare: str
    published: datetime | None = None
    author: str | None = None
    bare_author: str | None = None
    bare_day: str | None = None

    @property
    def truth_words(self) -> int:
        return len(self.page.truth.split())

    def f1(self, bare: bool = False) -> float:
        tp, fp, fn = page_counts(self.page.truth, self.bare if bare else self.text)
        return 2 * tp / (2 * tp + fp + fn) if tp else (1.0 if not (fp or fn) else 0.0)


@dataclass(slots=True)
class Report:
    name: str
    copydesk: Scores
    bare: Scores
    copydesk_per_s: float
    bare_per_s: float
    results: list[PageResult] = field(default_factory=list)
    dated: int = 0
    date_hits: int = 0
    htmldate_hits: int = 0

    @property
    def rejected(self) -> list[str]:
        return [r.page.key for r in self.results if not r.text]

    def lost(self, bare: bool = False) -> list[PageResult]:
        """Pages without text whose ground truth has `LOST_WORDS` words or more."""
        return [r for r in self.results if r.truth_words >= LOST_WORDS and not (r.bare if bare else r.text)]

    def by_stage(self) -> dict[str, tuple[int, Scores, Scores]]:
        """Per stage of the chain (and "refused"): pages, Copydesk's scores and bare's on them."""
        out = {}
        for stage in (*STAGES, "refused"):
            rows = [r for r in self.results if (r.stage if r.text else "refused") == stage]
            if rows:
                ours = summarize([page_counts(r.page.truth, r.text) for r in rows])
                bare = summarize([page_counts(r.page.truth, r.bare) for r in rows])
                out[stage] = (len(rows), ours, bare)
        return out

    def worst(self, n: int = WORST) -> list[PageResult]:
        scored = [r for r in self.results if r.page.truth]
        return sorted(scored, key=lambda r: (r.f1(), r.page.key))[:n]


def load_pages(root: Path, *, limit: int | None = None) -> list[EvalPage]:
    """The pages of the set under `root`, in ground-truth order (the first `limit` of them)."""
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key, entry in list(truth.items())[:limit]:
        plain, packed = root / "html" / f"{key}.html", root / "html" / f"{key}.html.gz"
        body = plain.read_bytes() if plain.exists() else gzip.decompress(packed.read_bytes())
        pages.append(EvalPage(key, entry["url"], entry["articleBody"], body, entry.get("byline")))
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


def hostile_pages() -> list[EvalPage]:
    """The generated hostile set (`tests/ingest/cases/hostile.py`)."""
    from tests.ingest.cases.hostile import cases

    return [EvalPage(c.key, c.url, c.truth, c.html.encode("utf-8")) for c in cases()]


def copydesk_extract(page: EvalPage) -> tuple[str, str, datetime | None, str | None]:
    """Copydesk's text, stage, published time and author for `page`; ("", why, None, None) if refused."""
    try:
        article = extract_page(as_raw_page(page))
    except IngestError as exc:
        log.info("Copydesk rejected %s: %s", page.url, exc)
        return "", f"{type(exc).__name__}: {exc}", None, None
    return article.text, article.extractor or "?", article.published_at, article.author


def evaluate(pages: list[EvalPage], name: str = "") -> Report:
    """Run Copydesk and bare trafilatura on `pages` and score both."""
    import trafilatura

    for page in pages[:10]:  # imports, models and first-call set-up are not what is timed
        trafilatura.extract(page.body.decode("utf-8", "replace"), url=page.url)
        copydesk_extract(page)
    results: list[PageResult] = []
    started = time.perf_counter()
    for page in pages:
        text, stage, published, author = copydesk_extract(page)
        results.append(PageResult(page, text, stage, "", published, author))
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    for result in results:
        page = result.page
        result.bare = trafilatura.extract(page.body.decode("utf-8", "replace"), url=page.url) or ""
    bare_s = time.perf_counter() - started
    report = Report(
        name=name,
        copydesk=summarize([page_counts(r.page.truth, r.text) for r in results]),
        bare=summarize([page_counts(r.page.truth, r.bare) for r in results]),
        copydesk_per_s=len(pages) / ours_s,
        bare_per_s=len(pages) / bare_s,
        results=results,
    )
    for result in results:
        page = result.page
        meta = trafilatura.extract_metadata(page.body.decode("utf-8", "replace"), default_url=page.url)
        result.bare_author = (meta.author or None) if meta else None
        result.bare_day = str(meta.date)[:10] if meta and meta.date else None
        days = stated_days(page.body)
        if not days:
            continue
        report.dated += 1
        ours = result.published
        report.date_hits += ours is not None and ours.astimezone(UTC).date() in days
        report.htmldate_hits += bool(result.bare_day) and date.fromisoformat(str(result.bare_day)) in days
    return report


def _matches(author: str | None, byline: str) -> bool:
    """The found author names someone of the byline (a surname in common)."""
    names = {w.lower() for w in _TOKEN.findall(byline) if len(w) > 2}
    return bool(author) and bool(names & {w.lower() for w in _TOKEN.findall(author or "")})


def render(reports: list[Report], *, commit: str) -> str:
    """The markdown section for docs/benchmarks.md."""
    import trafilatura

    lines = [
        SECTION,
        "",
        "Copydesk's `extract_page` (the extraction chain, `ingest.chain`) beside bare `trafilatura.extract` "
        "(defaults), on the same pages in one run; word-4-gram scores as `../shared/eval/extraction.py` "
        f"computes them. Commit `{commit}`, trafilatura {trafilatura.__version__}, first stage "
        f"`{DEFAULT_OPTIONS.describe()}`. A page is lost when it gets no text although its ground truth "
        f"has {LOST_WORDS} words or more.",
        "",
        "| set | pages | F1 Copydesk | F1 bare | P / R Copydesk | P / R bare | lost Copydesk | lost bare "
        "| pages/s Copydesk / bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        ours, bare = r.copydesk, r.bare
        lines.append(
            f"| {r.name} | {ours.pages} | **{ours.f1:.4f}** | {bare.f1:.4f} | {ours.precision:.3f} / "
            f"{ours.recall:.3f} | {bare.precision:.3f} / {bare.recall:.3f} | {len(r.lost())} | "
            f"{len(r.lost(bare=True))} | {r.copydesk_per_s:.0f} / {r.bare_per_s:.0f} |"
        )
    lines += [
        "",
        "By stage of the chain (pages; F1 of Copydesk, and of bare trafilatura on the same pages):",
        "",
    ]
    lines += ["| set | " + " | ".join((*STAGES, "refused")) + " |", "|---" * (len(STAGES) + 2) + "|"]
    for r in reports:
        stages = r.by_stage()
        cells = [
            f"{stages[s][0]}: {stages[s][1].f1:.3f} / {stages[s][2].f1:.3f}" if s in stages else "-"
            for s in (*STAGES, "refused")
        ]
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    lines += ["", "Metadata, share of pages (Copydesk / trafilatura's own metadata):", ""]
    lines += [
        "| set | published day found, of pages stating one | author found | author matches the byline |"
    ]
    lines += ["|---|---|---|---|"]
    for r in reports:
        n = len(r.results)
        bylined = [x for x in r.results if x.page.byline]

        def share(hits: int, total: int) -> str:
            return f"{hits}/{total} ({hits / total:.0%})" if total else "n/a"

        dates = f"{share(r.date_hits, r.dated)} / {share(r.htmldate_hits, r.dated)}"
        ours_found = sum(bool(x.author) for x in r.results)
        found = f"{share(ours_found, n)} / {share(sum(bool(x.bare_author) for x in r.results), n)}"
        match = (
            f"{share(sum(_matches(x.author, x.page.byline or '') for x in bylined), len(bylined))} / "
            f"{share(sum(_matches(x.bare_author, x.page.byline or '') for x in bylined), len(bylined))}"
            if bylined
            else "n/a"
        )
        lines.append(f"| {r.name} | {dates} | {found} | {match} |")
    for r in reports:
        lines += [
            "",
            f"The {WORST} worst pages of {r.name} (Copydesk's F1; words of ground truth / Copydesk / bare):",
            "",
        ]
        lines += ["| page | words | stage | F1 Copydesk | F1 bare |", "|---|---|---|---|---|"]
        for x in r.worst():
            stage = x.stage if x.text else "refused: " + x.stage.split(": ", 1)[0]
            lines.append(
                f"| {x.page.key[:40]} | {x.truth_words} / {len(x.text.split())} / {len(x.bare.split())} "
                f"| {stage} | {x.f1():.3f} | {x.f1(bare=True):.3f} |"
            )
        refused = [x for x in r.results if not x.page.truth]
        if refused:
            lines += ["", f"Pages of {r.name} that are not articles, and what Copydesk said:", ""]
            lines += [
                f"- `{x.page.key}`: {x.stage if not x.text else 'kept (' + x.stage + ')'}" for x in refused
            ]
    lines += [
        "",
        "A page states its date when its markup carries JSON-LD `datePublished`, a published-time meta or "
        "itemprop, or a `<time datetime>`; found means `published_at` falls on that day (in UTC or in the "
        "page's own zone). readability-pages' expected text is Readability.js's output, not human labels.",
        "",
    ]
    return "\n".join(lines)


def git_commit(repo: Path | None = None) -> str:
    """The commit the figures are measured on (see `benches.sections.commit`)."""
    return commit(repo)


def _shown(path: Path) -> str:
    """A set's name in the table: its folder's name (the sets live in ../shared/data/extraction)."""
    return path.name or str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument(
        "data", nargs="*", type=Path, help="page sets (default: both under ../shared/data + hostile)"
    )
    ap.add_argument("--hostile", action="store_true", help="add the generated hostile set")
    ap.add_argument("--out", type=Path, default=BENCHMARKS_MD, help="file to update")
    ap.add_argument("--limit", type=int, default=None, help="evaluate the first N pages of each set only")
    args = ap.parse_args(argv)
    sets = [d for d in (args.data or DEFAULT_SETS) if (d / "ground-truth.json").exists()]
    for missing in set(args.data or DEFAULT_SETS) - set(sets):
        print(f"skip: no extraction data at {missing}")
    if not sets:
        return 0
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("htmldate").setLevel(logging.ERROR)
    logging.getLogger("readability").setLevel(logging.ERROR)
    reports = [evaluate(load_pages(d, limit=args.limit), name=_shown(d)) for d in sets]
    if args.hostile or not args.data:
        reports.append(evaluate(hostile_pages()[: args.limit], name=f"{HOSTILE} (generated)"))
    section = render(reports, commit=git_commit())
    print(section)
    if args.limit is None:
        replace_section(args.out, SECTION, section)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The demo newsroom's corpus: fictional publishers, their pages, and the dedup result they should give.

Every page is a text file under ``corpus/stories/``: ``key: value`` header lines, a blank line, then
paragraphs separated by blank lines (``## `` starts a subheading). A copy names its source with
``copy_of`` and is derived from it by ``edit: old => new`` lines, ``drop_last``/``keep`` paragraph
counts and its own paragraphs, which are appended. ``same_page_as`` serves another page's bytes
under a second URL. Run ``python -m flows.demo.corpus`` to rewrite ``manifest.json``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Any

MANIFEST_VERSION = 1
BASE_DATE = "2026-03-02"
RELATIONS = ("original", "exact", "near_duplicate", "expanded", "excerpt")

#: Bad page kinds -> (stage the pipeline should fail at, ingest.errors class it should raise).
ERROR_KINDS: dict[str, tuple[str, str]] = {
    "http_404": ("fetch", "HttpStatusError"),
    "not_html": ("fetch", "NotHtml"),
    "no_article": ("extract", "NoArticle"),
    "connection": ("fetch", "FetchUnavailable"),
    "invalid_url": ("fetch", "FetchError"),
}
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "png": "image/png",
}


@dataclass(frozen=True, slots=True)
class Publisher:
    """A fictional outlet: its name, feed kind and where its feed and news sitemap live."""

    slug: str
    name: str
    feed_format: str
    feed_path: str
    sitemap_path: str
    utc_offset: str
    tz_name: str
    tagline: str

    @property
    def home_path(self) -> str:
        """Path of the publisher's front page."""
        return f"/{self.slug}/"


@dataclass(frozen=True, slots=True)
class Page:
    """One URL listed in a feed or sitemap: an article, a second URL of one, or a bad case."""

    id: str
    publisher: str
    kind: str
    headline: str
    summary: str
    published: datetime
    listed_in: tuple[str, ...]
    path: str | None = None
    url: str | None = None
    author: str | None = None
    section: str = "News"
    paragraphs: tuple[str, ...] = ()
    cluster: str | None = None
    relation: str | None = None
    original: str | None = None
    same_page_as: str | None = None
    file_format: str = "html"
    event: str | None = None

    @property
    def is_article(self) -> bool:
        """True for pages that should become articles."""
        return self.kind == "article"

    @property
    def text_blocks(self) -> list[str]:
        """Body paragraphs and subheadings as plain text, in order."""
        return [p.removeprefix("## ") for p in self.paragraphs]

    @property
    def body_paragraphs(self) -> list[str]:
        """Body paragraphs without subheadings."""
        return [p for p in self.paragraphs if not p.startswith("## ")]

    @property
    def word_count(self) -> int:
        """Words of body text (subheadings included)."""
        return sum(len(block.split()) for block in self.text_blocks)


def _data_dir() -> Traversable:
    return files("flows.demo").joinpath("corpus")


@cache
def publishers() -> tuple[Publisher, ...]:
    """The fictional publishers, in a fixed order."""
    raw = json.loads(_data_dir().joinpath("publishers.json").read_text(encoding="utf-8"))
    return tuple(Publisher(**item) for item in raw)


def publisher(slug: str) -> Publisher:
    """The publisher called `slug`."""
    return next(p for p in publishers() if p.slug == slug)


def parse_story(text: str) -> tuple[dict[str, list[str]], list[str]]:
    """Split a story file into its header (key -> values, keys may repeat) and its paragraphs."""
    head, _, body = text.strip().partition("\n\n")
    header: dict[str, list[str]] = {}
    for line in head.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"bad header line {line!r}")
        header.setdefault(key.strip(), []).append(value.strip())
    paragraphs = [" ".join(block.split()) for block in body.split("\n\n") if block.strip()]
    return header, paragraphs


def _derive(source: Page, header: dict[str, list[str]], own: list[str]) -> tuple[str, ...]:
    """Apply a copy's edits, paragraph cuts and additions to its source's paragraphs."""
    paragraphs = list(source.paragraphs)
    for edit in header.get("edit", []):
        old, _, new = edit.partition(" => ")
        hits = [i for i, p in enumerate(paragraphs) if old in p]
        if len(hits) != 1 or paragraphs[hits[0]].count(old) != 1:
            raise ValueError(f"edit {old!r} must match exactly once in {source.id}")
        paragraphs[hits[0]] = paragraphs[hits[0]].replace(old, new)
    drop = int(header.get("drop_last", ["0"])[0])
    keep = int(header.get("keep", [str(len(paragraphs) - drop)])[0])
    return (*paragraphs[:keep], *own)


def _one(header: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    values = header.get(key)
    return values[0] if values else default


def _build_page(page_id: str, header: dict[str, list[str]], own: list[str], pages: dict[str, Page]) -> Page:
    """Make a Page from a parsed story file; copies and second URLs read their source from `pages`."""
    kind = _one(header, "kind", "article") or "article"
    base = Page(
        id=page_id,
        publisher=header["publisher"][0],
        kind=kind,
        headline=_one(header, "headline") or "",
        summary=_one(header, "summary") or "",
        published=datetime.fromisoformat(header["published"][0]),
        listed_in=tuple(header["listed_in"][0].split()),
        path=_one(header, "path"),
        url=_one(header, "url"),
        author=_one(header, "author"),
        section=_one(header, "section", "News") or "News",
        paragraphs=tuple(own),
        file_format=_one(header, "format", "html") or "html",
        event=_one(header, "event"),
    )
    if kind != "article":
        return base
    if same := _one(header, "same_page_as"):
        target = pages[same]
        return replace(
            target, id=page_id, path=base.path, listed_in=base.listed_in, relation="exact", same_page_as=same
        )
    if source_id := _one(header, "copy_of"):
        source = pages[source_id]
        return replace(
            base,
            paragraphs=_derive(source, header, own),
            cluster=source.cluster,
            relation=header["relation"][0],
            original=source.original,
        )
    return replace(base, cluster=_one(header, "cluster", page_id), relation="original", original=page_id)


def _story_files() -> dict[str, str]:
    stories = _data_dir().joinpath("stories")
    return {
        item.name.removesuffix(".txt"): item.read_text(encoding="utf-8")
        for item in stories.iterdir()
        if item.name.endswith(".txt")
    }


@cache
def pages() -> tuple[Page, ...]:
    """Every page of the corpus, sources before their copies, then by publication time and id."""
    parsed = {page_id: parse_story(text) for page_id, text in _story_files().items()}
    built: dict[str, Page] = {}

    def build(page_id: str) -> Page:
        if page_id not in built:
            header, own = parsed[page_id]
            for dep in (_one(header, "copy_of"), _one(header, "same_page_as")):
                if dep:
                    build(dep)
            built[page_id] = _build_page(page_id, header, own, built)
        return built[page_id]

    for page_id in sorted(parsed):
        build(page_id)
    return tuple(sorted(built.values(), key=lambda p: (p.published, p.id)))


def page(page_id: str) -> Page:
    """The page called `page_id`."""
    return next(p for p in pages() if p.id == page_id)


def page_url(item: Page, base_url: str) -> str:
    """Absolute URL of a page for a server at `base_url` (pages off the server keep their own URL)."""
    if item.path is None:
        return item.url or ""
    return base_url.rstrip("/") + item.path


def canonical_path(item: Page) -> str | None:
    """The path a page names as canonical: its source's path for second URLs, else its own."""
    if item.same_page_as:
        return page(item.same_page_as).path
    return item.path


def related(item: Page, *, limit: int = 3) -> list[Page]:
    """Other stories of the same publisher, for the page's "related" box, chosen deterministically."""
    own = [p for p in pages() if p.publisher == item.publisher and p.is_article and not p.same_page_as]
    others = [p for p in own if p.id != item.id and p.cluster != item.cluster]
    start = sum(1 for p in others if (p.published, p.id) < (item.published, item.id))
    rotated = others[start:] + others[:start]
    return rotated[:limit]


def _human_time(moment: datetime, tz_name: str) -> str:
    """'March 2, 2026, 6:40 a.m. EST' in the publisher's own zone."""
    hour = moment.hour % 12 or 12
    half = "a.m." if moment.hour < 12 else "p.m."
    return f"{moment:%B} {moment.day}, {moment.year}, {hour}:{moment.minute:02d} {half} {tz_name}"


def _body_html(item: Page) -> str:
    lines = []
    for block in item.paragraphs:
        if block.startswith("## "):
            lines.append(f"<h2>{html.escape(block[3:])}</h2>")
        else:
            lines.append(f"<p>{html.escape(block)}</p>")
    return "\n".join(lines)


def _json_ld(item: Page, outlet: Publisher, canonical: str) -> str:
    """The page's schema.org NewsArticle, safe to embed in a script element."""
    author_type = "Organization" if item.author in {p.name for p in publishers()} else "Person"
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": item.headline,
        "description": item.summary,
        "articleSection": item.section,
        "inLanguage": "en",
        "datePublished": item.published.isoformat(),
        "dateModified": item.published.isoformat(),
        "author": [{"@type": author_type, "name": item.author}],
        "publisher": {"@type": "Organization", "name": outlet.name},
        "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
        "wordCount": item.word_count,
    }
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


@cache
def _template(name: str) -> Template:
    return Template(_data_dir().joinpath("templates", f"{name}.html").read_text(encoding="utf-8"))


def render_html(item: Page, base_url: str) -> bytes:
    """The HTML page served at `item.path`: an article in its publisher's template, or a gallery."""
    source = page(item.same_page_as) if item.same_page_as else item
    outlet = publisher(source.publisher)
    base = base_url.rstrip("/")
    canonical = base + (source.path or "")
    esc = html.escape
    links = (f'<li><a href="{base}{p.path}">{esc(p.headline)}</a></li>' for p in related(source))
    values = {
        "headline": esc(source.headline),
        "description": esc(source.summary),
        "canonical_url": esc(canonical),
        "home_url": base + outlet.home_path,
        "feed_url": base + outlet.feed_path,
        "section": esc(source.section),
        "author": esc(source.author or ""),
        "published_iso": source.published.isoformat(),
        "published_human": _human_time(source.published, outlet.tz_name),
        "published_short": f"{source.published:%b} {source.published.day}, {source.published.year}",
        "jsonld": _json_ld(source, outlet, canonical),
        "body": _body_html(source),
        "related": "\n".join(links),
    }
    if source.kind == "no_article":
        captions = (
            f'<li><figure><img src="{base}/{outlet.slug}/img/{i}.jpg" alt=""><figcaption>{esc(c)}'
            f"</figcaption></figure></li>"
            for i, c in enumerate(source.paragraphs, 1)
        )
        return _template("gallery").substitute(values, items="\n".join(captions)).encode()
    return _template(outlet.slug).substitute(values).encode()


def _entry(item: Page) -> dict[str, Any]:
    """One manifest row; every row has the same keys, None where a key does not apply."""
    entry: dict[str, Any] = {
        "id": item.id,
        "path": item.path,
        "url": None if item.path else item.url,
        "publisher": item.publisher,
        "listed_in": list(item.listed_in),
        "title": item.headline,
        "published": item.published.isoformat(),
    }
    article = dict.fromkeys(
        ("cluster", "relation", "original_path", "canonical_path", "author", "word_count", "event")
    )
    error = dict.fromkeys(("error_stage", "error_kind", "error_class"))
    if item.is_article:
        entry |= {"status": 200, "content_type": CONTENT_TYPES["html"]}
        original = page(item.original or item.id)
        article |= {
            "cluster": item.cluster,
            "relation": item.relation,
            "original_path": original.path,
            "canonical_path": canonical_path(item),
            "author": item.author,
            "word_count": item.word_count,
            "event": item.event,
        }
    else:
        served = item.path is not None
        status = 404 if item.kind == "http_404" else 200
        content_type = CONTENT_TYPES["html" if status == 404 else item.file_format]
        entry |= {"status": status if served else None, "content_type": content_type if served else None}
        stage, error_class = ERROR_KINDS[item.kind]
        error |= {"error_stage": stage, "error_kind": item.kind, "error_class": error_class}
    return entry | article | error


def build_manifest() -> dict[str, Any]:
    """The expected result of running the pipeline over every feed and sitemap of the demo newsroom."""
    rows = [_entry(p) for p in pages()]
    relations = {r: sum(1 for row in rows if row["relation"] == r) for r in RELATIONS}
    return {
        "version": MANIFEST_VERSION,
        "base_date": BASE_DATE,
        "summary": {
            "urls": len(rows),
            "articles": sum(relations.values()),
            "clusters": len({row["cluster"] for row in rows if row["cluster"]}),
            "errors": sum(1 for row in rows if row["error_kind"]),
            "relations": relations,
        },
        "publishers": [
            {
                "slug": p.slug,
                "name": p.name,
                "feed_format": p.feed_format,
                "feed_path": p.feed_path,
                "sitemap_path": p.sitemap_path,
            }
            for p in publishers()
        ],
        "pages": rows,
    }


def manifest_text(manifest: dict[str, Any]) -> str:
    """The manifest as committed: indented JSON with a final newline."""
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def load_manifest() -> dict[str, Any]:
    """The committed ``manifest.json`` shipped with the package."""
    text = files("flows.demo").joinpath("manifest.json").read_text(encoding="utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


def resolve_manifest(manifest: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A copy of `manifest` with absolute ``url``, ``original_url`` and ``canonical_url`` for `base_url`."""
    base = base_url.rstrip("/")

    def absolute(path: str | None) -> str | None:
        return base + path if path else None

    resolved: dict[str, Any] = json.loads(json.dumps(manifest))
    resolved["base_url"] = base
    for outlet in resolved["publishers"]:
        outlet["feed_url"] = absolute(outlet["feed_path"])
        outlet["sitemap_url"] = absolute(outlet["sitemap_path"])
    for row in resolved["pages"]:
        row["url"] = row["url"] or absolute(row["path"])
        row["original_url"] = absolute(row["original_path"])
        row["canonical_url"] = absolute(row["canonical_path"])
    return resolved


def write_manifest(path: Path | None = None) -> Path:
    """Regenerate ``manifest.json`` (next to this module unless `path` is given)."""
    target = path or Path(__file__).with_name("manifest.json")
    target.write_text(manifest_text(build_manifest()), encoding="utf-8")
    return target


if __name__ == "__main__":
    print(write_manifest())

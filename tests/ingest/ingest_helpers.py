"""Helpers for ingest tests: a small newsroom site (pages, feeds, sitemaps) and its traps."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STORY = [
    "The harbour commission voted on Tuesday to extend the night ferry service to the northern islands "
    "for another two years, ending months of uncertainty for commuters and the shops that depend on them.",
    "Commissioners said the decision followed a review of passenger numbers, which rose by nearly a fifth "
    "last summer, and a petition signed by more than four thousand residents of the outer villages.",
    "The extension will cost the port authority about three million dollars a year. Officials said part of "
    "the money would come from higher parking fees at the main terminal and a small rise in freight charges.",
    "Opponents argued that the service runs half empty in winter and that the money would be better spent "
    "on repairing the old pier, which has been closed to heavy vehicles since the storms of last March.",
]


def article_html(
    title: str,
    paragraphs: list[str] | None = None,
    *,
    published: str | None = "2026-03-19T11:38:00-05:00",
    lang: str | None = "en",
    canonical: str | None = None,
    charset: str = "utf-8",
    site: str = "Harbor Herald",
    author: str = "Jane Doe",
) -> str:
    """A small news page: nav, headline, byline, JSON-LD, body, footer."""
    paragraphs = STORY if paragraphs is None else paragraphs
    data: dict[str, object] = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title}
    if published:
        data["datePublished"] = published
    data["author"] = {"@type": "Person", "name": author}
    data["publisher"] = {"@type": "Organization", "name": site}
    jsonld = json.dumps(data, ensure_ascii=False)
    lang_attr = f' lang="{lang}"' if lang else ""
    canon = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html{lang_attr}><head><meta charset="{charset}">'
        f"<title>{title} | {site}</title>{canon}"
        f'<meta property="og:site_name" content="{site}">'
        f'<script type="application/ld+json">{jsonld}</script></head><body>'
        f'<header><nav><a href="/">Home</a> <a href="/news">News</a> '
        f'<a href="/sport">Sport</a></nav></header>'
        f"<main><article><h1>{title}</h1><p class='byline'>By {author}</p>{body}</article></main>"
        f"<footer><p>Contact us</p><a href='/privacy'>Privacy</a></footer></body></html>"
    )


def rss_feed(base: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Harbor Herald</title><link>{base}/pub/</link><language>en-us</language>
<item><title>Ferry service extended</title><link>{base}/pub/articles/ferry.html</link>
<guid isPermaLink="false">herald-1</guid><pubDate>Thu, 19 Mar 2026 11:38:00 -0500</pubDate></item>
<item><title>Relative link</title><link>/pub/articles/relative.html</link><guid>herald-2</guid>
<pubDate>Fri, 20 Mar 2026 08:00:00 GMT</pubDate></item>
<item><title>Item without a link</title><description>no link here</description></item>
</channel></rss>""".encode()


def atom_feed(base: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>Valley Ledger</title><id>urn:ledger</id>
<updated>2026-03-19T12:00:00Z</updated>
<entry><title>Der Fährdienst</title><id>urn:ledger:1</id><link rel="alternate" href="{base}/ledger/a/1.html"/>
<published>2026-03-18T09:15:00+01:00</published><updated>2026-03-19T10:00:00+01:00</updated>
<content xml:lang="de" type="text">Kurz</content></entry>
<entry xml:lang="fr"><title>Le traversier</title><id>urn:ledger:2</id><link href="{base}/ledger/a/2.html"/>
<updated>2026-03-19T10:00:00Z</updated></entry>
</feed>""".encode()


def rss1_feed(base: str) -> bytes:
    return f"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{base}/"><title>Old feed</title><link>{base}/</link><description>d</description>
<items><rdf:Seq><rdf:li resource="{base}/old/1.html"/></rdf:Seq></items></channel>
<item rdf:about="{base}/old/1.html"><title>Old style</title><link>{base}/old/1.html</link>
<dc:date>2026-03-17T06:00:00+00:00</dc:date><dc:language>nl</dc:language></item>
</rdf:RDF>""".encode()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://example.com/&lol9;</loc></url></urlset>
"""


def sitemap_index(base: str) -> bytes:
    children = ["child.xml.gz", "news.xml", "bomb.xml", "missing.xml"]
    entries = "".join(
        f"<sitemap><loc>{base}/sitemaps/{c}</loc><lastmod>2026-03-19</lastmod></sitemap>" for c in children
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
    ).encode()


def plain_sitemap(base: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{base}/pub/articles/ferry.html</loc><lastmod>2026-03-19T16:38:00+00:00</lastmod></url>
<url><loc>{base}/pub/articles/pier.html</loc><lastmod>2026-03-10</lastmod></url>
<url><loc>not a url</loc></url>
</urlset>""".encode()


def news_sitemap(base: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{base}/pub/articles/budget.html</loc>
<news:news><news:publication><news:name>Harbor Herald</news:name><news:language>en</news:language>
</news:publication><news:publication_date>2026-03-19T07:30:00-05:00</news:publication_date>
<news:title>Port budget approved</news:title></news:news></url>
<url><loc>{base}/pub/articles/ferry.html</loc>
<news:news><news:publication><news:name>Harbor Herald</news:name><news:language>en</news:language>
</news:publication><news:publication_date>2026-03-19T11:38:00-05:00</news:publication_date>
<news:title>Ferry service extended</news:title></news:news></url>
</urlset>""".encode()


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay_s: float = 0.0
    send_length: bool = True


@dataclass
class Site:
    """The test server: its base URL, routes, and how often each path was asked for."""

    base: str
    routes: dict[str, Callable[[int], Response]]
    hits: Counter[str] = field(default_factory=Counter)
    #: (path, request headers lowercased) of every request, in order
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def not_modified(answer: Response, if_none_match: str | None, if_modified_since: str | None) -> Response:
    """A 304 in place of `answer` when the request's validators match it, as a static file server does."""
    etag, modified = answer.headers.get("ETag"), answer.headers.get("Last-Modified")
    if answer.status == 200 and (
        (if_none_match and etag and if_none_match == etag)
        or (not if_none_match and if_modified_since and modified and if_modified_since == modified)
    ):
        return Response(status=304, headers={k: v for k, v in answer.headers.items() if k != "Content-Type"})
    return answer


def conditional_routes(base: str) -> dict[str, Callable[[int], Response]]:
    """Feeds and sitemaps with validators, and one whose content changes on its third request."""
    feed = rss_feed(base)
    index = (
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/cond/news.xml</loc></sitemap></sitemapindex>"
    ).encode()

    def changing(n: int) -> Response:
        body = feed if n < 3 else feed.replace(b"herald-1", b"herald-1-updated").replace(b"ferry", b"ferry-2")
        return Response(body=body, headers={"Content-Type": "application/rss+xml"})

    return {
        "/cond/etag.xml": lambda _n: Response(
            body=feed, headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'}
        ),
        "/cond/index.xml": lambda _n: Response(
            body=index,
            headers={"Content-Type": "application/xml", "Last-Modified": "Thu, 19 Mar 2026 12:00:00 GMT"},
        ),
        "/cond/news.xml": lambda _n: Response(
            body=news_sitemap(base), headers={"Content-Type": "application/xml", "ETag": 'W/"news-1"'}
        ),
        "/cond/changing.xml": changing,
    }


def routes(base: str) -> dict[str, Callable[[int], Response]]:
    def html(body: str, *, charset: str = "utf-8") -> Callable[[int], Response]:
        data = body.encode(charset)
        return lambda _n: Response(body=data, headers={"Content-Type": f"text/html; charset={charset}"})

    def xml(data: bytes, ctype: str = "application/xml") -> Callable[[int], Response]:
        return lambda _n: Response(body=data, headers={"Content-Type": ctype})

    def redirect(to: str, status: int = 302) -> Callable[[int], Response]:
        return lambda _n: Response(status=status, headers={"Location": to})

    cp1252_text = [
        "Le café de la gare a rouvert ses portes lundi après trois mois de travaux, à la grande joie des "
        "habitués qui attendaient leur « petit noir » du matin.",
        "Le propriétaire, qui a investi près de 40 000 € dans la rénovation, promet des croissants frais "
        "chaque jour et une terrasse agrandie dès le printemps prochain, selon la mairie.",
    ]
    huge = b"<html><body>" + b"<p>filler text</p>" * 60_000 + b"</body></html>"
    return {
        "/robots.txt": lambda _n: Response(
            body=b"User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"}
        ),
        "/feeds/rss.xml": xml(rss_feed(base), "application/rss+xml"),
        "/feeds/atom.xml": xml(atom_feed(base), "application/atom+xml"),
        "/feeds/rss1.xml": xml(rss1_feed(base), "application/rdf+xml"),
        "/feeds/rss.xml.gz": xml(gzip.compress(rss_feed(base)), "application/octet-stream"),
        "/feeds/bomb.xml": xml(BILLION_LAUGHS.replace(b"urlset", b"rss")),
        "/feeds/not-a-feed.html": html("<html><body><p>Hello</p></body></html>"),
        "/sitemaps/index.xml": xml(sitemap_index(base)),
        "/sitemaps/child.xml.gz": xml(gzip.compress(plain_sitemap(base)), "application/x-gzip"),
        "/sitemaps/news.xml": xml(news_sitemap(base)),
        "/sitemaps/bomb.xml": xml(BILLION_LAUGHS),
        "/sitemaps/self.xml": xml(
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{base}/sitemaps/'
            f"deeper.xml</loc></sitemap></sitemapindex>".encode()
        ),
        "/sitemaps/deeper.xml": xml(
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{base}/sitemaps/'
            f"news.xml</loc></sitemap></sitemapindex>".encode()
        ),
        "/pub/articles/ferry.html": html(article_html("Ferry service extended")),
        "/pub/articles/relative.html": html(article_html("Relative link story", STORY[1:] + STORY[:1])),
        "/pub/articles/budget.html": html(article_html("Port budget approved", STORY[2:] + STORY[:2])),
        "/pub/articles/pier.html": html(article_html("Pier repairs", STORY[::-1])),
        "/pub/articles/moved.html": html(article_html("Moved story", STORY[1:])),
        "/pub/redirect": redirect("/pub/articles/moved.html", 301),
        "/pub/loop-a": redirect("/pub/loop-b"),
        "/pub/loop-b": redirect("/pub/loop-a"),
        "/pub/redirect-private": redirect("http://169.254.169.254/latest/meta-data/"),
        "/pub/redirect-ftp": redirect("ftp://example.com/file.html"),
        "/pub/missing": lambda _n: Response(status=404, body=b"not found"),
        "/pub/throttled": lambda n: (
            Response(status=429, headers={"Retry-After": "1"})
            if n % 2 == 1
            else Response(body=article_html("Throttled story").encode())
        ),
        "/pub/unavailable": lambda _n: Response(status=503, headers={"Retry-After": "3600"}),
        "/pub/server-error": lambda _n: Response(status=500, body=b"oops"),
        "/pub/slow": lambda _n: Response(body=article_html("Slow story").encode(), delay_s=4.0),
        "/pub/huge": lambda _n: Response(body=huge),
        "/pub/huge-stream": lambda _n: Response(body=huge, send_length=False),
        "/pub/image.png": lambda _n: Response(
            body=b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000, headers={"Content-Type": "image/png"}
        ),
        "/pub/cafe.html": html(
            article_html("Le café rouvre", cp1252_text, lang="fr", charset="windows-1252"),
            charset="windows-1252",
        ),
        "/pub/empty.html": html(
            "<html><head><title>Gallery</title></head><body><nav><a href='/'>Home</a></nav>"
            "<div><img src='a.jpg'></div></body></html>"
        ),
        "/private/secret.html": html(article_html("Secret story")),
        **conditional_routes(base),
    }


def crashing_extract(page: Any, *, min_words: int) -> Any:
    """`extract_page`, except that a page whose URL holds ``crash`` kills the worker process running it."""
    import os

    from ingest.extract import extract_page

    if "crash" in page.ref.url:
        os._exit(3)
    return extract_page(page, min_words=min_words)

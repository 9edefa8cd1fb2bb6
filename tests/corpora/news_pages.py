"""Synthetic news pages for benchmarks and tests: the HTML publishers serve around a story.

Each page carries what real article pages carry besides the story, and in similar amounts (about
600-900 elements, 25-60 KB): a masthead with a mega-menu, icons, a byline, share buttons, ad
slots, related links, a grid of story cards, comments and a footer of link columns. Dates are
stated as news sites state them: 70% in JSON-LD, 20% in meta tags, 10% only in the text.
"""

from __future__ import annotations

import html
import json
import random
from collections.abc import Sequence

_SECTIONS = (
    "News World Business Markets Politics Sport Culture Science Health Opinion Travel Tech Weather".split()
)
_NAMES = "Harbor Valley Lakeside Civic Metro North Coast River Summit Prairie Bay Pine".split()
_KINDS = "Herald Gazette Ledger Dispatch Times Post Tribune Courier Chronicle Observer".split()


def news_pages(
    n: int, *, hosts: int = 20, paragraphs: Sequence[str] | None = None, seed: int = 7
) -> dict[str, bytes]:
    """`n` article pages on `hosts` publishers, by URL path ``/<host>/<publisher>/<yyyy>/<mm>/<slug>.html``.

    Stories are cut from `paragraphs` (real newswire text) when given, else from `tests.corpora.planted`'s
    vocabulary; the same arguments give the same pages.
    """
    from tests.corpora.planted import planted_corpus

    corpus = planted_corpus(n, copy_rate=0.0, mean_words=550, seed=seed, paragraphs=paragraphs)
    rng = random.Random(seed)
    sites = [f"{rng.choice(_NAMES)} {rng.choice(_KINDS)}" for _ in range(hosts)]
    pages: dict[str, bytes] = {}
    for i, doc in enumerate(corpus.docs[:n]):
        host = i % hosts
        publisher = sites[host].lower().replace(" ", "-")
        paras = [html.escape(p, quote=False) for p in _paragraphs(doc.text.split("\n\n"), rng)]
        title = " ".join(paras[0].split()[:9]).rstrip(".,;").replace('"', "&quot;") or f"Story {i}"
        when = doc.published_at or corpus.docs[0].published_at
        assert when is not None
        path = f"/{host}/{publisher}/{when:%Y/%m}/story-{i:05d}.html"
        pages[path] = _page_html(
            rng, site=sites[host], title=title, paras=paras, when=when.isoformat()
        ).encode()
    return pages


def _paragraphs(pieces: list[str], rng: random.Random) -> list[str]:
    """Newswire lines joined into paragraphs of 30-90 words, as a story page has them."""
    out: list[str] = []
    current: list[str] = []
    target = rng.randint(30, 90)
    for piece in (p.strip() for p in pieces if p.strip()):
        current.append(piece)
        if sum(len(c.split()) for c in current) >= target:
            out.append(" ".join(current))
            current, target = [], rng.randint(30, 90)
    return out + ([" ".join(current)] if current else [])


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_SECTIONS + _NAMES + _KINDS).lower() for _ in range(n)).capitalize()


def _links(rng: random.Random, n: int, cls: str, words: tuple[int, int] = (1, 2)) -> str:
    return "".join(
        f'<li class="{cls}__item" data-track="{cls}-{k}"><a class="{cls}__link" href="/'
        f'{rng.choice(_SECTIONS).lower()}/{rng.randrange(10**6)}"><span>{_words(rng, rng.randint(*words))}'
        "</span></a></li>"
        for k in range(n)
    )


def _icon(rng: random.Random, name: str) -> str:
    paths = "".join(
        f'<path d="M{rng.randrange(24)} {rng.randrange(24)}h{rng.randrange(9)}v9z"/>' for _ in range(2)
    )
    return f'<svg class="icon icon--{name}" viewBox="0 0 24 24" aria-hidden="true">{paths}</svg>'


def _card(rng: random.Random) -> str:
    return (
        f'<div class="card card--{rng.choice(["small", "wide"])}"><a class="card__link" href="/'
        f'{rng.choice(_SECTIONS).lower()}/{rng.randrange(10**6)}"><div class="card__media"><picture>'
        f'<source srcset="/i/{rng.randrange(10**6)}.webp" type="image/webp">'
        f'<img src="/i/{rng.randrange(10**6)}.jpg" '
        f'alt="" loading="lazy"></picture></div><div class="card__body"><span class="card__kicker">'
        f'{rng.choice(_SECTIONS)}</span><h3 class="card__title">{_words(rng, rng.randint(6, 11))}</h3>'
        f'<p class="card__teaser">{_words(rng, rng.randint(12, 24))}.</p><span class="card__time">'
        f"{rng.randint(1, 23)} hours ago</span></div></a></div>"
    )


def _page_html(rng: random.Random, *, site: str, title: str, paras: list[str], when: str) -> str:
    """A news page as publishers make them: menus, cards, icons, ads and comments around the story.

    About 600-900 elements and 25-60 KB, like real pages of that size (most of their bytes and
    nodes are not the story); 70% state their date in JSON-LD, 20% in meta tags, 10% only in text.
    """
    author = f"{rng.choice(['Ana', 'Ben', 'Chidi', 'Dana', 'Emil', 'Fatima'])} {rng.choice(_NAMES)}"
    css = "".join(
        f".c{k}{{margin:{rng.randrange(40)}px;color:#{rng.randrange(16**6):06x}}}"
        for k in range(rng.randint(40, 160))
    )
    config = json.dumps({f"k{k}": _words(rng, 3) for k in range(rng.randint(20, 120))})
    kind = rng.random()
    head_meta = ""
    slug = author.lower().replace(" ", "-")
    byline = f'<div class="byline"><a class="byline__author" href="/by/{slug}">By {author}</a>'
    if kind < 0.7:
        ld: dict[str, object] = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title}
        ld["datePublished"] = when
        ld["author"] = {"@type": "Person", "name": author}
        ld["publisher"] = {"@type": "Organization", "name": site}
        head_meta = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
        byline += f'<time class="byline__time" datetime="{when}">{when[:10]}</time></div>'
    elif kind < 0.9:
        head_meta = f'<meta property="article:published_time" content="{when}">'
        head_meta += f'<meta name="author" content="{author}">'
        byline += "</div>"
    else:
        byline += f'<span class="byline__date">{when[:10]}</span></div>'
    share = "".join(
        f'<a class="share__{n}" href="#" aria-label="{n}">{_icon(rng, n)}</a>'
        for n in ("fb", "x", "mail", "copy")
    )
    body = []
    for k, para in enumerate(paras):
        body.append(f'<p class="article__p" data-index="{k}">{para}</p>')
        if k in (2, 6):
            body.append(
                f'<div class="ad-slot" data-slot="mid-{k}"><div id="gpt-{rng.randrange(10**6)}"></div></div>'
            )
        if k == 4:
            body.append(
                f'<aside class="related"><h3>Related</h3><ul>{_links(rng, 4, "rel", (5, 9))}</ul></aside>'
            )
    menu = "".join(
        f'<li class="menu__item"><a href="/{section.lower()}">{section}</a><div class="menu__sub"><ul>'
        f"{_links(rng, rng.randint(4, 10), 'sub')}</ul></div></li>"
        for section in _SECTIONS
    )
    comments = "".join(
        f'<div class="comment"><div class="comment__meta"><b>{_words(rng, 2)}</b>'
        f"<time>{rng.randint(1, 59)} min</time></div>"
        f'<p class="comment__text">{_words(rng, rng.randint(8, 40))}.</p></div>'
        for _ in range(rng.randint(0, 6))
    )
    cards = "".join(_card(rng) for _ in range(rng.randint(6, 14)))
    footer = "".join(
        f'<div class="footer__col"><h4>{rng.choice(_SECTIONS)}</h4><ul>{_links(rng, 8, "ft")}</ul></div>'
        for _ in range(4)
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | {site}</title>'
        f'<meta name="viewport" content="width=device-width"><meta property="og:site_name" content="{site}">'
        f'<meta property="og:title" content="{title}"><meta name="description" content="{_words(rng, 20)}">'
        f"{head_meta}<style>{css}</style><script>window.__CONFIG__={config};</script>"
        f'<script>(function(){{var a=document.createElement("script");a.src="/t.js";}})();</script></head>'
        f'<body class="page page--article"><div class="topbar"><ul>{_links(rng, 6, "top")}</ul></div>'
        f'<header class="masthead"><a class="logo" href="/">{_icon(rng, "logo")}<span>{site}</span></a>'
        f'<form class="search" action="/search"><input name="q" placeholder="Search">'
        f"<button>{_icon(rng, 'q')}</button></form>"
        f'<nav aria-label="Sections"><ul class="menu">{menu}</ul></nav>'
        f'<div class="ticker"><ul>{_links(rng, 5, "tick", (6, 10))}</ul></div></header>'
        f'<main class="layout"><div class="breadcrumb"><a href="/">Home</a> / '
        f'<a href="/news">News</a></div>'
        f'<article class="article"><header class="article__header"><h1>{title}</h1>{byline}'
        f'<div class="share">{share}</div></header><figure><picture>'
        f'<img src="/img/{rng.randrange(10**6)}.jpg" alt=""></picture><figcaption>'
        f'<span>{_words(rng, 12)}.</span><span class="credit">Photo: '
        f'{_words(rng, 2)}</span></figcaption></figure><div class="article__body">{"".join(body)}</div>'
        f'<ul class="tags">{_links(rng, 5, "tag")}</ul></article>'
        f'<aside class="sidebar"><h2>Most read</h2><ol>{_links(rng, 10, "most", (6, 10))}</ol>'
        f'<form class="newsletter"><p>Get the morning briefing</p><input type="email">'
        f'<button>Sign up</button></form><div class="ad" id="ad-{rng.randrange(99)}"></div></aside>'
        f'<section class="more"><h2>More stories</h2><div class="grid">{cards}</div></section>'
        f'<section id="comments"><h2>Comments</h2>{comments}</section></main>'
        f'<footer class="footer">{footer}<div class="social">{"".join(_icon(rng, n) for n in "abcde")}</div>'
        f"<p>© 2026 {site}. All rights reserved.</p></footer></body></html>"
    )

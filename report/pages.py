"""The report's two HTML pages: `index.html` (overview, who copies whom, errors) and
`clusters.html` (the cluster viewer, whose data is loaded from data/ as it is opened)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from report import charts
from report.figures import Figures

_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="assets/report.css">
{scripts}
</head><body>
<header class="top"><h1>{title}</h1>
<nav><a href="index.html#overview">Overview</a><a href="index.html#publishers">Who copies whom</a>
<a href="clusters.html">Clusters</a><a href="index.html#errors">Errors</a></nav>
<span class="meta">{meta}</span></header>
<main>
"""
_TAIL = "</main></body></html>\n"


def _meta(root: str, span: str, generated: datetime) -> str:
    return escape(f"{root} · {span} · written {generated:%Y-%m-%d %H:%M} UTC")


def index_html(f: Figures, *, root: str, span: str, generated: datetime, cluster_pages: int) -> str:
    parts = [
        _HEAD.format(
            title="Copydesk report",
            scripts='<script src="assets/plotly.min.js"></script>',
            meta=_meta(root, span, generated),
        )
    ]
    cards = [
        (f.articles, "articles"),
        (f.clusters, "clusters (stories)"),
        (f.multi_clusters, "stories copied"),
        (f.copies, "copies"),
        (sum(n for _, _, n in f.errors), "errors"),
    ]
    parts.append('<section id="overview"><h2>Overview</h2><div class="cards">')
    parts += [f'<div class="card"><b>{n:,}</b><span>{escape(label)}</span></div>' for n, label in cards]
    parts.append("</div>")
    parts.append(charts.per_day(f))
    parts.append(f'<div class="grid2"><div>{charts.sizes(f)}</div><div>{charts.delays(f)}</div></div>')
    parts.append(_top_originals(f.top_originals, cluster_pages))
    parts.append("</section>")
    parts.append('<section id="publishers"><h2>Who copies whom</h2>')
    if f.matrix:
        parts.append(charts.matrix(f))
    else:
        parts.append('<p class="muted">No copies in this range.</p>')
    parts.append(charts.shares(f) if f.shares else "")
    parts.append("</section>")
    parts.append(_errors(f))
    parts.append(_TAIL)
    return "".join(parts)


def _top_originals(rows: list[dict[str, Any]], cluster_pages: int) -> str:
    if not rows:
        return '<h3>Top originals</h3><p class="muted">No original has a copy in this range.</p>'
    out = [
        '<h3>Top originals by number of copies</h3><table id="top-originals"><thead><tr>'
        '<th class="n">copies</th><th>original</th><th>publisher</th><th>published</th></tr></thead><tbody>'
    ]
    for r in rows:
        when = r["published_at"].strftime("%Y-%m-%d %H:%M") if r["published_at"] else "–"
        title = escape(r["title"] or r["url"] or r["original_id"])
        out.append(
            f'<tr><td class="n">{r["copies"]}</td>'
            f'<td><a href="clusters.html#{escape(r["cluster_id"])}">{title}</a></td>'
            f"<td>{escape(r['source'] or '?')}</td><td>{when}</td></tr>"
        )
    out.append(
        f'</tbody></table><p class="muted">The {cluster_pages} largest clusters have a page, '
        'with every copy set against its original: <a href="clusters.html">clusters</a>.</p>'
    )
    return "".join(out)


def _errors(f: Figures) -> str:
    out = ['<section id="errors"><h2>Errors</h2>']
    if not f.errors:
        out.append('<p class="muted">No input failed in this range.</p></section>')
        return "".join(out)
    out.append(charts.errors(f))
    out.append(
        '<table id="error-kinds"><thead><tr><th>stage</th><th>kind</th><th class="n">errors</th>'
        "<th>samples</th></tr></thead><tbody>"
    )
    for stage, kind, n in f.errors:
        samples = "".join(
            f"<li><code>{escape(url)}</code> <span class='muted'>{escape(msg[:200])}</span></li>"
            for url, msg in f.error_samples.get((stage, kind), [])
        )
        out.append(
            f'<tr><td>{escape(stage)}</td><td>{escape(kind)}</td><td class="n">{n}</td>'
            f"<td><ul>{samples}</ul></td></tr>"
        )
    out.append("</tbody></table></section>")
    return "".join(out)


def clusters_html(*, root: str, span: str, generated: datetime, clusters: int) -> str:
    head = _HEAD.format(
        title="Copydesk report: clusters",
        scripts='<script src="assets/clusters.js"></script><script src="data/index.js"></script>',
        meta=_meta(root, span, generated),
    )
    return (
        head
        + '<div class="layout"><section><h2>Clusters</h2>'
        + f'<input id="search" type="search" placeholder="Search {clusters} clusters by title or id" '
        + 'autocomplete="off"><div id="count" class="muted"></div><ul id="results"></ul></section>'
        + '<section id="cluster"><p class="muted">Loading…</p></section></div>'
        + _TAIL
    )

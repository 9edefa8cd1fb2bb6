"""The report's charts, made with plotly.

Why plotly rather than altair + vl-convert: plotly's wheel carries plotly.js itself, so the report
gets an offline chart library from one pure-Python dependency (`plotly.offline.get_plotlyjs()`),
written once into the report folder as `assets/plotly.min.js` and shared by every page; altair
renders through Vega-Embed, whose offline bundle comes from vl-convert, a 30+ MB native wheel, for
charts that are all plain bars, lines and one heatmap here. Plotly draws them as SVG, zooms and
shows values on hover, and the figures carry only the aggregated numbers (`report.figures`), so
the overview page stays a few hundred kilobytes however many articles the output root holds.
"""

from __future__ import annotations

from typing import Any

from report.figures import DELAY_BUCKETS, RELATIONS, Figures

#: Colours of the relations, the same on every chart and on the cluster pages (report.css).
COLOURS = {
    "articles": "#4c6ef5",
    "clusters": "#868e96",
    "exact": "#2b8a3e",
    "near_duplicate": "#74b816",
    "expanded": "#e8590c",
    "excerpt": "#7048e8",
    "version": "#c2255c",
    "original": "#1971c2",
    "copy": "#e8590c",
    "alone": "#ced4da",
}
#: Publishers shown on the matrix and the shares chart (the ones with the most copies or articles).
MAX_PUBLISHERS = 30
CONFIG = {"displaylogo": False, "responsive": True}


def _html(fig: Any, div_id: str) -> str:
    import plotly.io as pio

    return str(pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id, config=CONFIG))


def _layout(fig: Any, *, title: str, height: int = 360, **extra: Any) -> None:
    # No named template: plotly deep-copies one into every figure, which took seconds (most of the
    # charts' time); these few settings give the same light look.
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        template="none",
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        paper_bgcolor="white",
        plot_bgcolor="white",
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.2},
        **extra,
    )
    fig.update_xaxes(showgrid=False, linecolor="#ced4da", automargin=True)
    fig.update_yaxes(gridcolor="#e9ecef", zeroline=False, automargin=True)


def per_day(f: Figures) -> str:
    import plotly.graph_objects as go

    days = [r["day"] for r in f.per_day]
    fig = go.Figure()
    for rel in (*RELATIONS, "version"):
        fig.add_bar(
            name=f"copies: {rel}" if rel != "version" else "version links",
            x=days,
            y=[r[rel] for r in f.per_day],
            marker_color=COLOURS[rel],
        )
    for key in ("articles", "clusters"):
        fig.add_scatter(
            name=key if key == "articles" else "new clusters (originals)",
            x=days,
            y=[r[key] for r in f.per_day],
            mode="lines+markers",
            line={"color": COLOURS[key]},
        )
    _layout(fig, title="Articles, clusters and copies by relation, per day", barmode="stack")
    fig.update_xaxes(type="category")
    return _html(fig, "chart-per-day")


def sizes(f: Figures) -> str:
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Bar(x=[str(s) for s, _ in f.sizes], y=[n for _, n in f.sizes], marker_color=COLOURS["original"])
    )
    _layout(fig, title="Cluster sizes (articles per cluster)", xaxis_title="articles", yaxis_title="clusters")
    fig.update_yaxes(type="log" if any(n > 1000 for _, n in f.sizes) else "linear")
    fig.update_xaxes(type="category")
    return _html(fig, "chart-sizes")


def delays(f: Figures) -> str:
    import plotly.graph_objects as go

    labels = [label for label, _ in DELAY_BUCKETS]
    fig = go.Figure()
    for rel in RELATIONS:
        fig.add_bar(name=rel, x=labels, y=f.delays.get(rel, [0] * len(labels)), marker_color=COLOURS[rel])
    _layout(fig, title="Time from an original to its copies", barmode="stack", yaxis_title="copies")
    return _html(fig, "chart-delays")


def matrix(f: Figures) -> str:
    import plotly.graph_objects as go

    totals: dict[str, int] = {}
    for orig, copy, n in f.matrix:
        totals[orig] = totals.get(orig, 0) + n
        totals[copy] = totals.get(copy, 0) + n
    keep = sorted(totals, key=lambda s: (-totals[s], s))[:MAX_PUBLISHERS]
    originals = [s for s in keep if any(o == s for o, _, _ in f.matrix)]
    copiers = [s for s in keep if any(c == s for _, c, _ in f.matrix)]
    cells = {(o, c): n for o, c, n in f.matrix}
    z = [[cells.get((o, c), 0) for c in copiers] for o in originals]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=copiers,
            y=originals,
            colorscale="Oranges",
            hovertemplate="%{y} → %{x}: %{z} copies<extra></extra>",
            texttemplate="%{z}",
        )
    )
    height = max(320, 60 + 26 * len(originals))
    _layout(
        fig,
        title="Who copies whom: copies of an original's publisher (row) by another (column)",
        height=height,
        xaxis_title="copy's publisher",
        yaxis_title="original's publisher",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return _html(fig, "chart-matrix")


def shares(f: Figures) -> str:
    import plotly.graph_objects as go

    rows = f.shares[:MAX_PUBLISHERS]
    names = [r[0] for r in rows]
    fig = go.Figure()
    total = [max(r[1] + r[2] + r[3], 1) for r in rows]
    for key, counts in (
        ("original", [r[1] for r in rows]),
        ("copy", [r[2] for r in rows]),
        ("alone", [r[3] for r in rows]),
    ):
        fig.add_bar(
            name={"original": "originals (copied)", "copy": "copies", "alone": "not copied"}[key],
            y=names,
            x=[n / t for n, t in zip(counts, total, strict=True)],
            customdata=counts,
            orientation="h",
            marker_color=COLOURS[key],
            hovertemplate="%{y}: %{customdata} articles (%{x:.0%})<extra></extra>",
        )
    _layout(
        fig,
        title="Per publisher: share of its articles that are originals and copies",
        barmode="stack",
        height=max(320, 80 + 24 * len(rows)),
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(autorange="reversed", type="category")
    return _html(fig, "chart-shares")


def errors(f: Figures) -> str:
    import plotly.graph_objects as go

    stages = sorted({s for s, _, _ in f.errors})
    kinds = sorted({k for _, k, _ in f.errors})
    counts = {(s, k): n for s, k, n in f.errors}
    fig = go.Figure()
    for kind in kinds:
        fig.add_bar(name=kind, x=stages, y=[counts.get((s, kind), 0) for s in stages])
    _layout(fig, title="Errors by stage and kind", barmode="stack", yaxis_title="errors")
    fig.update_xaxes(type="category")
    return _html(fig, "chart-errors")

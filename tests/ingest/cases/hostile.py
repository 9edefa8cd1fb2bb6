"""A hostile extraction set, generated here: layouts that lose articles, and pages that are not articles.

Each `Case` is a page and the article text a reader sees on it ("" for a page that is not an
article, with the word its `NoArticle` reason must hold). The layouts are the ones that lost
articles on real pages from 2008: an old table layout with ``<font>`` tags and ``<br>`` paragraphs,
frames, a story in one huge ``<div>``, a wire story in ``<pre>``, sports and TV pages with little
markup, unclosed ``<p>`` tags of a regional paper, a tech weekly whose story is ``<div>``s beside a
longer comment thread. The text is made of the sentences below, shuffled per case, so the
same code always gives the same pages. `make eval-extract` scores this set beside the real ones
(`tests/ingest/test_hostile_extraction.py` checks every case).
"""

from __future__ import annotations

import html
import random
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

SENTENCES = (
    "The county council voted on Tuesday evening to close the old river bridge to heavy traffic.",
    "Engineers found cracks in two of the steel girders during an inspection last month.",
    "Residents of the east bank said the detour would add half an hour to their drive to work.",
    "The mayor promised that a temporary crossing would open before the winter storms arrive.",
    "Local businesses near the bridge fear that fewer shoppers will make the trip across.",
    "A spokesman for the highway department said the repairs could take as long as two years.",
    "The bridge was built in 1931 and carries about twelve thousand vehicles on a normal day.",
    "Council members argued for more than three hours before the measure passed by one vote.",
    "School buses will be rerouted through the northern industrial park starting next week.",
    "Fire crews have asked for a second station on the east bank while the bridge is closed.",
    "The state has set aside four million dollars for the first phase of the work.",
    "Opponents of the plan said the money would be better spent on a completely new crossing.",
    "A public meeting on the detour routes will be held at the library on Thursday night.",
    "Several farmers told the council that their trucks were too wide for the narrow back roads.",
    "Traffic counts taken over the summer showed long queues at both ends of the bridge.",
    "The inspection report, released on Friday, described the structure as fair but declining.",
    "Commuters who ride the morning ferry can expect extra sailings from the start of next month.",
    "The transit authority said it would add two buses an hour on the route along the river road.",
    "Shop owners on Market Street plan to meet with the chamber of commerce about parking.",
    "A retired engineer who worked on the last renovation said the girders had been a worry for years.",
    "The council also approved a study of a footbridge for cyclists and people on foot.",
    "Weather permitting, crews will begin removing the old asphalt in the first week of spring.",
    "The contractor chosen for the work has repaired three similar bridges in the region.",
    "Some residents welcomed the closure, saying the heavy trucks had made the bridge unsafe.",
    "Police will post officers at the busiest junctions during the first weeks of the detour.",
    "The historical society asked that the original lamp posts be kept and put back afterwards.",
    "A petition calling for the bridge to stay open had gathered nine hundred signatures by Monday.",
    "The harbor master warned that barges would be held back while cranes work over the channel.",
    "Officials said they would publish a weekly update on the progress of the repairs online.",
    "The vote came a year after a delivery truck struck the railing and damaged the deck.",
)
_MENU = ("Home", "Local", "Nation", "World", "Sports", "Business", "Opinion", "Obituaries", "Classifieds")


@dataclass(frozen=True, slots=True)
class Case:
    """One hostile page: its HTML, the article text on it, and for a non-article the reason's word."""

    key: str
    html: str
    truth: str
    refused: str | None = None

    @property
    def url(self) -> str:
        return f"https://hostile.example/{self.key}/"


def paragraphs(seed: int, count: int, per: int = 3) -> list[str]:
    """`count` paragraphs of `per` sentences, the same for the same seed."""
    rng = random.Random(seed)
    return [" ".join(rng.sample(SENTENCES, per)) for _ in range(count)]


def _links(words: tuple[str, ...] = _MENU, sep: str = " | ") -> str:
    return sep.join(f'<a href="/{w.lower()}/">{w}</a>' for w in words)


def table_layout(seed: int) -> Case:
    paras = paragraphs(seed, 5)
    body = "<br><br>\n".join(html.escape(p) for p in paras)
    side = "<br>".join(f'<a href="/{w.lower()}/">{w} news</a>' for w in _MENU * 2)
    page = (
        "<html><head><title>Bridge closed - The Valley Courier</title></head><body bgcolor=#ffffff>"
        '<table width=760 border=0 cellpadding=0><tr><td colspan=2><img src="/logo.gif"><br>'
        f"<font size=1>{_links()}</font></td></tr><tr><td width=150 valign=top bgcolor=#eeeeee>"
        f"<font size=2>{side}</font></td><td valign=top><font face=Arial size=4><b>Council votes to "
        "close river bridge</b></font><br><font size=1>By Staff Writer<br>March 4, 2008</font><br><br>"
        f"<font face=Arial size=2>{body}</font></td></tr><tr><td colspan=2><font size=1>Copyright 2008 "
        "The Valley Courier. All rights reserved.</font></td></tr></table></body></html>"
    )
    return Case(f"table-layout-{seed}", page, "\n".join(paras))


def frames_with_noframes(seed: int) -> Case:
    paras = paragraphs(seed, 4)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paras)
    page = (
        "<html><head><title>Courier</title></head><frameset cols='160,*'><frame src='menu.html'>"
        "<frame src='story.html' name='main'><noframes><body><h1>River bridge to close</h1>"
        f"{body}</body></noframes></frameset></html>"
    )
    return Case(f"frames-noframes-{seed}", page, "\n".join(paras))


def frameset_only(seed: int) -> Case:
    page = (
        "<html><head><title>The Valley Courier</title></head><frameset rows='80,*'>"
        "<frame src='top.html'><frame src='front.html'></frameset></html>"
    )
    return Case(f"frameset-only-{seed}", page, "", refused="no article body")


def one_huge_div(seed: int) -> Case:
    paras = paragraphs(seed, 6)
    body = "<br><br>".join(
        f"{html.escape(p[:40])}<b>{html.escape(p[40:60])}</b>{html.escape(p[60:])}" for p in paras
    )
    side = "".join(f"<li><a href=/x{i}>Story {i} of the day</a></li>" for i in range(20))
    page = (
        "<html><head><title>Bridge</title></head><body><div class=top>"
        f"{_links()}</div><div id=content><div class=headline>Bridge to close</div>{body}</div>"
        f"<div class=side><ul>{side}"
        "</ul></div><div class=foot>Copyright 2008 Metro Post</div></body></html>"
    )
    return Case(f"one-huge-div-{seed}", page, "\n".join(paras))


def sports_bare(seed: int) -> Case:
    paras = paragraphs(seed, 4, per=2)
    scores = "<br>".join(f"Rivermen {i} , Lakers {i + 1}" for i in range(6))
    body = "<br>\n".join(html.escape(p) for p in paras)
    page = (
        "<html><body><center><b>SPORTS FINAL</b></center><br>"
        f"{scores}<br><br><b>Rivermen fall short</b><br>{body}<br><br>"
        f"<small>{_links(sep=' - ')}</small></body></html>"
    )
    return Case(f"sports-bare-{seed}", page, "\n".join(paras))


def tv_page(seed: int) -> Case:
    paras = paragraphs(seed, 3)
    rows = "".join(
        f"<tr><td>{h}:00</td><td><a href=/show{h}>Show {h}</a></td><td>Ch {h % 7}</td></tr>"
        for h in range(6, 24)
    )
    body = "<p>".join(html.escape(p) for p in paras)
    page = (
        "<html><body><table><tr><td valign=top><table border=1>"
        f"{rows}</table></td><td valign=top><font size=3><b>Tonight on TV</b></font><br>"
        f"<font size=2>{body}</font></td></tr></table></body></html>"
    )
    return Case(f"tv-page-{seed}", page, "\n".join(paras))


def wire_pre(seed: int) -> Case:
    paras = paragraphs(seed, 4)
    wrapped = "\n\n".join(textwrap.fill(p, 68) for p in paras)
    page = (
        "<html><head><title>AP wire</title></head><body><h3>Wire: bridge</h3>"
        f"<pre>RIVERTON (AP) --\n{html.escape(wrapped)}\n</pre><hr>{_links()}</body></html>"
    )
    return Case(f"wire-pre-{seed}", page, "RIVERTON (AP) --\n" + "\n".join(paras))


def unclosed_paragraphs(seed: int) -> Case:
    paras = paragraphs(seed, 5)
    body = "".join(f"<p>{html.escape(p)}\n" for p in paras)
    also = "".join(f"<li><a href=/s{i}>Also today: story number {i}</a>" for i in range(25))
    page = (
        "<html><body><table width=100%><tr><td><span class=storytext>"
        f"<b>Bridge to close</b>{body}</span></td><td width=200><ul>{also}</ul></td></tr></table>"
        "</body></html>"
    )
    return Case(f"unclosed-p-{seed}", page, "\n".join(paras))


def divs_beside_comments(seed: int) -> Case:
    paras = paragraphs(seed, 4)
    story = "".join(f"<div class=para>{html.escape(p)}</div>" for p in paras)
    comments = "".join(
        f"<div class=comment><div class=who>reader{i}</div><div class=said>{html.escape(p)}</div></div>"
        for i, p in enumerate(paragraphs(seed + 1000, 8))
    )
    page = (
        "<html><body><div id=nav>"
        f"{_links()}</div><div class=story><h2>Bridge</h2>{story}</div>"
        f"<div id=comments><h3>Comments</h3>{comments}</div></body></html>"
    )
    return Case(f"divs-beside-comments-{seed}", page, "\n".join(paras))


def gallery(seed: int) -> Case:
    pics = "".join(f"<div><img src=/p{i}.jpg><span>Photo {i} of the bridge</span></div>" for i in range(12))
    page = f"<html><body><h1>In pictures: the bridge</h1>{pics}<p>{_links()}</p></body></html>"
    return Case(f"gallery-{seed}", page, "", refused="gallery")


def video(seed: int) -> Case:
    page = (
        "<html><head><meta property='og:type' content='video.other'></head><body><h1>Watch: bridge</h1>"
        "<video src=/v.mp4 controls></video><p>Footage of the bridge inspection, filmed last week.</p>"
        "</body></html>"
    )
    return Case(f"video-{seed}", page, "", refused="video")


def index(seed: int) -> Case:
    items = "".join(
        f"<li><a href=/story{i}>Story number {i} about the river bridge</a></li>" for i in range(40)
    )
    page = f"<html><body><h1>Local news</h1><ul>{items}</ul></body></html>"
    return Case(f"index-{seed}", page, "", refused="index")


def brief(seed: int) -> Case:
    text = " ".join(random.Random(seed).sample(SENTENCES, 2))
    page = (
        "<html><head><script type='application/ld+json'>"
        '{"@type": "NewsArticle", "headline": "Bridge"}</script></head><body>'
        f"<article><h1>Bridge</h1><p>{html.escape(text)}</p></article></body></html>"
    )
    return Case(f"brief-{seed}", page, text)


LAYOUTS: tuple[Callable[[int], Case], ...] = (
    table_layout,
    frames_with_noframes,
    frameset_only,
    one_huge_div,
    sports_bare,
    tv_page,
    wire_pre,
    unclosed_paragraphs,
    divs_beside_comments,
    gallery,
    video,
    index,
    brief,
)


def cases(seeds: int = 2) -> list[Case]:
    """Every layout with `seeds` different texts."""
    return [layout(seed) for seed in range(1, seeds + 1) for layout in LAYOUTS]

"""What a page holds, measured on its markup alone: the yardstick an extraction is judged against.

`ingest.chain` asks whether the text an extractor returned is the page's article or only a scrap
of it. It compares the text with the page's largest text block: the most words held by one block
element (``<div>``, ``<td>``, ``<article>``, ``<body>``...), counting the text of its inline
children (``<b>``, ``<font>``, ``<br>``...) and of its child blocks (the ``<p>``s of a story), but
not link text, scripts, or text nested deeper. An old table layout, a story in one huge ``<div>``
split by ``<br>``, a sports page of bare text, a story of paragraphs: each is one large block,
whatever an extractor's rules make of it. Text runs of 15 characters or fewer are
not counted (menus, bylines, separators: never an article's bulk), which keeps the measure to one
XPath query in C and a short loop (well under a millisecond on a 40 KB page).

`classify` says what kind of page it is when it holds little text, so that a page is refused as
"not an article" with a reason (a gallery, a video page, an index of links) rather than for its
length alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ingest.text import word_count

#: Elements whose text belongs to the enclosing block (the block does not end at them).
INLINE = frozenset(
    "a abbr acronym b bdi bdo big br cite code data del dfn em font i img ins kbd label mark nobr q "
    "s samp small span strike strong sub sup time tt u var wbr".split()
)
#: Elements whose text is never an article's.
SKIPPED = frozenset("script style noscript template select option button textarea head title".split())
_RUNS = etree.XPath(
    "//body//text()[string-length(normalize-space()) > 15]"
    "[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template"
    " or ancestor::select or ancestor::button or ancestor::textarea or ancestor::a)]"
)
_ALL_RUNS = etree.XPath(
    "//body//text()[normalize-space()][not(ancestor::script or ancestor::style or ancestor::noscript)]"
)
_VIDEO_SRC = re.compile(r"youtube|vimeo|dailymotion|jwplayer|brightcove|\.mp4|\.m3u8", re.I)
_LINE = re.compile(r"[ \t\r\f\v\u00a0]+")


@dataclass(slots=True)
class PageShape:
    """The page's largest text block: its words, and the element (None on a page without text)."""

    largest_words: int = 0
    largest: Any = None


def measure(tree: Any) -> PageShape:
    """Find the largest text block of `tree` (an lxml HTML root); reads the tree, changes nothing."""
    counts: dict[Any, int] = {}
    for run in _RUNS(tree):
        elem = run.getparent()
        if run.is_tail:
            elem = elem.getparent()
        while elem is not None and isinstance(elem.tag, str) and elem.tag in INLINE:
            elem = elem.getparent()
        if elem is not None:
            counts[elem] = counts.get(elem, 0) + word_count(run)
    if not counts:
        return PageShape()
    blocks = dict(counts)  # a block holds its own text and that of its child blocks (paragraphs)
    for elem, words in counts.items():
        parent = elem.getparent()
        if parent is not None:
            blocks[parent] = blocks.get(parent, 0) + words
    block, words = max(blocks.items(), key=lambda item: item[1])
    return PageShape(words, block)


def block_text(elem: Any) -> str:
    """The text of `elem` and everything in it: one line per block element or ``<br>``, spaces tidied."""
    parts: list[str] = []
    for event, node in etree.iterwalk(elem, events=("start", "end")):
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        if event == "start":
            if tag not in INLINE or tag == "br":
                parts.append("\n")
            if node.text and tag and tag not in SKIPPED:
                parts.append(node.text)
        else:
            if tag not in INLINE:
                parts.append("\n")
            if node.tail and node is not elem:
                parts.append(node.tail)
    lines = (_LINE.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


@dataclass(slots=True)
class PageKind:
    """What a page with little text is, as far as its markup tells."""

    kind: str  # "gallery", "video", "index" or "page"
    words: int  # words outside links on the whole page
    link_words: int
    images: int
    videos: int

    def reason(self) -> str:
        counts = f"{self.words} words of text outside links"
        if self.kind == "gallery":
            return f"a gallery, not an article: {self.images} images and {counts}"
        if self.kind == "video":
            return f"a video page, not an article: {self.videos} video player(s) and {counts}"
        if self.kind == "index":
            return f"an index page, not an article: {self.link_words} words of links and {counts}"
        return f"no article body: the whole page holds {counts}"


def classify(tree: Any, declared: set[str]) -> PageKind:
    """The kind of `tree`'s page from its media, links and `declared` types (og:type, JSON-LD @type)."""
    words = link_words = 0
    for run in _ALL_RUNS(tree):
        count = word_count(run)
        parent = run.getparent()
        in_link = any(a.tag == "a" for a in (parent, *parent.iterancestors()) if isinstance(a.tag, str))
        if run.is_tail and parent.tag == "a":
            in_link = any(a.tag == "a" for a in parent.iterancestors() if isinstance(a.tag, str))
        if in_link:
            link_words += count
        else:
            words += count
    images = sum(1 for _ in tree.iter("img"))
    videos = sum(1 for _ in tree.iter("video")) + sum(
        1 for e in tree.iter("iframe", "embed", "object") if _VIDEO_SRC.search(e.get("src") or e.get("data") or "")
    )
    kinds = {t.lower() for t in declared}
    if kinds & {"videoobject", "video.other", "video.movie", "video.episode", "video.tv_show"} or videos:
        kind = "video"
    elif kinds & {"imagegallery", "mediagallery"} or images >= 4:
        kind = "gallery"
    elif kinds & {"collectionpage", "itemlist", "website", "searchresultspage"} or link_words > 2 * words:
        kind = "index"
    else:
        kind = "page"
    return PageKind(kind, words, link_words, images, videos)

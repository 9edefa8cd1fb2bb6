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

`classify` says what kind of page it is when its text is short, so that a page is refused as
"not an article" with a reason (a gallery, a video page, an index of links, a page without a
body) rather than for its length alone.
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
_RUNS = etree.XPath(  # not only under <body>: a frameset page's <noframes> text has none
    "//text()[string-length(normalize-space()) > 15]"
    "[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template or ancestor::head"
    " or ancestor::select or ancestor::button or ancestor::textarea or ancestor::a)]"
)
_ALL_RUNS = etree.XPath(
    "//text()[normalize-space()][not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::head)]"
)
_VIDEO_SRC = re.compile(r"youtube|vimeo|dailymotion|jwplayer|brightcove|\.mp4|\.m3u8", re.I)
_LINE = re.compile(r"[ \t\r\f\v\u00a0]+")


@dataclass(slots=True)
class PageShape:
    """The page's largest text block: its words, and the element (None on a page without text)."""

    largest_words: int = 0
    largest: Any = None
    #: words of the largest run of text in one element, its child blocks aside (one paragraph)
    longest_paragraph: int = 0


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
    return PageShape(words, block, max(counts.values()))


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


_VIDEO_TYPES = frozenset({"videoobject", "video.other", "video.movie", "video.episode", "video.tv_show"})
_LINK_RUNS = etree.XPath("//a//text()[normalize-space()]")
_IMAGES = etree.XPath("count(//img[not(ancestor::a)])")
_VIDEOS = etree.XPath("//video | //iframe | //embed | //object")
#: A page with at least this many pictures (outside links) and fewer words than this many per
#: picture is a gallery.
GALLERY_IMAGES = 4
GALLERY_WORDS_PER_IMAGE = 8
#: A run of text this long in one element is a paragraph, not a caption.
PARAGRAPH_WORDS = 15


@dataclass(slots=True)
class PageKind:
    """What a page is, as far as its markup tells: "article", or why not."""

    kind: str  # "article", "gallery", "video", "index" or "empty"
    words: int  # words outside links on the whole page
    link_words: int
    images: int  # pictures outside links
    videos: int  # <video> elements and embedded players of video hosts

    def reason(self) -> str:
        counts = f"{_n(self.words, 'word')} of text outside links"
        if self.kind == "gallery":
            return f"a gallery, not an article: {_n(self.images, 'picture')} and {counts}"
        if self.kind == "video":
            return f"a video page, not an article: {_n(self.videos, 'video player')} and {counts}"
        if self.kind == "index":
            return f"an index page, not an article: {_n(self.link_words, 'word')} of links and {counts}"
        if self.kind == "empty":
            return f"no article body: the whole page holds {counts}"
        return f"an article page with {counts}"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def classify(
    tree: Any, declared: set[str], *, min_words: int, article_types: frozenset[str], longest_paragraph: int
) -> PageKind:
    """The kind of `tree`'s page, from its words in and out of links, pictures, video players and
    `declared` types (``og:type``, JSON-LD ``@type``s, lower case).

    Not an article: a page with fewer than `min_words` words outside links (a video page if it
    has a player, a gallery if it has `GALLERY_IMAGES` pictures, an index if it has links, else
    empty); a page declared a video and not an article (`article_types`); a page of
    `GALLERY_IMAGES` or more pictures with fewer than `GALLERY_WORDS_PER_IMAGE` words per picture
    and no paragraph of `PARAGRAPH_WORDS` words (`longest_paragraph`, from `measure`): a page
    with a real paragraph of text is never a gallery.
    """
    all_words = sum(word_count(run) for run in _ALL_RUNS(tree))
    link_words = sum(word_count(run) for run in _LINK_RUNS(tree))
    words = max(0, all_words - link_words)
    images = int(_IMAGES(tree))
    videos = sum(
        1 for e in _VIDEOS(tree) if e.tag == "video" or _VIDEO_SRC.search(e.get("src") or e.get("data") or "")
    )
    declared_video = bool(declared & _VIDEO_TYPES) and not declared & article_types
    if words < min_words:
        if videos or declared_video:
            kind = "video"
        elif images >= GALLERY_IMAGES:
            kind = "gallery"
        elif link_words >= min_words:
            kind = "index"
        else:
            kind = "empty"
    elif declared_video:
        kind = "video"
    elif (
        images >= GALLERY_IMAGES
        and words < GALLERY_WORDS_PER_IMAGE * images
        and longest_paragraph < PARAGRAPH_WORDS
    ):
        kind = "gallery"
    else:
        kind = "article"
    return PageKind(kind, words, link_words, images, videos)

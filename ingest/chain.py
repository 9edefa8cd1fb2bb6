"""The extraction chain: the fast path first, and fallbacks, in order, only where it returns too little.

A page's text comes from the first stage that returns enough of it:

1. ``fast``: trafilatura without its fallbacks, `favor_recall` (most pages end here).
2. ``full``: trafilatura with its own fallbacks (its readability fork, jusText, baseline), `favor_recall`.
3. ``readability``: readability-lxml on the page, its summary turned into lines.
4. ``justext``: jusText with the page's language stoplist (every language's when it is unknown).
5. ``jsonld``: the ``articleBody`` the page states in JSON-LD.
6. ``block``: the page's largest text block itself (`ingest.pageshape`).

Enough means at least `min_words` words and at least `ENOUGH_SHARE` of the page's yardstick: the
larger of its largest text block and its JSON-LD ``articleBody``, in words (`ingest.pageshape`,
under a millisecond a page). A text of trafilatura's fallbacks or jusText of more than `OVERSHOOT`
times the yardstick has swept up boilerplate (jusText with every language's stoplist does on some
pages) and is not taken; readability-lxml keeps to one container and is not capped.
When no extractor stage returns enough, the longest of their texts is taken, unless the
publisher's ``articleBody`` holds more (stage 5), or, when none reaches `min_words`, the largest
block does (stage 6). A page no stage finds an article text on is judged by
`ingest.pageshape.classify` in `ingest.extract`: refused with a reason, or kept as a brief.

Both thresholds were chosen on the two labelled sets of ``make eval-extract``; the fallbacks run on
a few pages in a hundred there.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any

from ingest.htmlmeta import PageMeta
from ingest.pageshape import PageShape, block_text, measure
from ingest.text import word_count

log = logging.getLogger(__name__)

#: Stages, in the order tried; the name of the one that gave the text is `Article.extractor`.
STAGES = ("fast", "full", "readability", "justext", "jsonld", "block")
#: A text shorter than this share of the page's largest block (or stated articleBody) is too little.
ENOUGH_SHARE = 0.7
#: A sweeping fallback's text longer than this many times the largest block has taken boilerplate with it.
OVERSHOOT = 1.5
#: The fallbacks that can sweep a whole page into their text: trafilatura's own (its baseline
#: rescue) and jusText with every language's stoplist. readability-lxml keeps to one container.
_SWEEPERS = frozenset({"full", "justext"})
_EXTRACTORS = STAGES[:4]


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """How trafilatura extracts the main text.

    The chain's first stage runs trafilatura with `fast` (no fallbacks) and these settings; the
    second without `fast`. `fast=False` skips the first stage. The defaults were chosen on the
    extraction benchmarks (``make eval-extract``): fast mode with `favor_recall` scores a higher word F1
    than trafilatura's defaults at about 1.5x their speed, where the later stages catch what it misses.
    """

    fast: bool = True
    favor_recall: bool = True
    favor_precision: bool = False
    include_tables: bool = True

    def describe(self) -> str:
        """A short label, e.g. for benchmark tables: ``fast,recall,tables``."""
        names = ("fast", "favor_recall", "favor_precision", "include_tables")
        return ",".join(n.removeprefix("favor_").removeprefix("include_") for n in names if getattr(self, n))


DEFAULT_OPTIONS = ExtractOptions()


@dataclass(slots=True)
class Extracted:
    """The text the chain settled on, the stage that gave it, and an error when every extractor raised one."""

    text: str
    stage: str
    error: BaseException | None = None
    #: words of the page's largest text block outside links (`ingest.pageshape.measure`)
    largest_words: int = 0


def run_chain(
    tree: Any, html: str, *, url: str, meta: PageMeta, options: ExtractOptions, min_words: int
) -> Extracted:
    """Extract the article text of `tree` (parsed from `html`), falling back stage by stage."""
    stated = word_count(meta.article_body) if meta.article_body else 0
    shape: PageShape | None = None
    best = Extracted("", "fast")
    best_words = 0
    error: BaseException | None = None
    stages = _EXTRACTORS if options.fast else _EXTRACTORS[1:]
    failed = 0
    for stage in stages:
        try:
            text = _extract(stage, tree, html, url=url, meta=meta, options=options)
        except Exception as exc:  # an extractor's bug on odd markup: the next stage may still work
            log.debug("%s extraction failed on %s: %r", stage, url, exc)
            error, failed = error or exc, failed + 1
            continue
        words = word_count(text)
        if words and shape is None:
            shape = measure(tree)
        yardstick = max(shape.largest_words if shape else 0, stated)
        if stage in _SWEEPERS and yardstick >= min_words and words > OVERSHOOT * yardstick:
            log.debug("%s text of %s overshoots the page's largest block: not taken", stage, url)
            continue
        if words >= min_words and words >= ENOUGH_SHARE * yardstick:
            return Extracted(text, stage, None, shape.largest_words if shape else 0)
        if words > best_words:
            best, best_words = Extracted(text, stage), words
    if stated >= min_words and stated > best_words and meta.article_body:
        return Extracted(meta.article_body, "jsonld", None, shape.largest_words if shape else 0)
    shape = shape or measure(tree)
    if best_words < min_words <= shape.largest_words:
        return Extracted(block_text(shape.largest), "block", None, shape.largest_words)
    best.error = error if failed == len(stages) else None
    best.largest_words = shape.largest_words
    return best


def _extract(stage: str, tree: Any, html: str, *, url: str, meta: PageMeta, options: ExtractOptions) -> str:
    if stage in ("fast", "full"):
        import trafilatura

        doc: Any = trafilatura.bare_extraction(
            tree,  # trafilatura works on a copy of the tree
            url=url,
            options=_trafilatura_options(stage == "fast", options, url),
        )
        return (doc.text or "") if doc is not None else ""
    if stage == "readability":
        return _readability(html, url=url)
    return _justext(html, language=meta.language)


_templates: dict[tuple[bool, ExtractOptions], Any] = {}


def _trafilatura_options(fast: bool, options: ExtractOptions, url: str) -> Any:
    """trafilatura's `Extractor` for a stage and page: a copy of one built once per setting.

    Building one reads nine values from trafilatura's config parser, about a tenth of a millisecond
    a page (``make bench``); the copy only gets the page's URL.
    """
    from trafilatura.settings import Extractor

    template = _templates.get((fast, options))
    if template is None:
        template = _templates[(fast, options)] = Extractor(
            output_format="python",
            fast=fast,
            precision=options.favor_precision,
            recall=options.favor_recall,
            comments=False,
            tables=options.include_tables,
            with_metadata=False,
        )
    made = copy.copy(template)
    made.url = url
    made.source = url.encode("utf-8", "replace").decode("utf-8")  # as trafilatura makes it
    return made


def _readability(html: str, *, url: str) -> str:
    import lxml.html
    from readability import Document

    summary = Document(html, url=url).summary(html_partial=True)  # parses its own copy of the page
    if not summary.strip():
        return ""
    return block_text(lxml.html.fromstring(summary))


_stoplists: dict[str, frozenset[str]] = {}


def _justext(html: str, *, language: str | None) -> str:
    import justext
    from trafilatura.settings import JUSTEXT_LANGUAGES

    name = JUSTEXT_LANGUAGES.get((language or "").split("-")[0], "")
    if name not in _stoplists:
        if name:
            _stoplists[name] = justext.get_stoplist(name)
        else:  # unknown language: every stoplist, as trafilatura does
            _stoplists[name] = frozenset(
                w for lang in justext.get_stoplists() for w in justext.get_stoplist(lang)
            )
    paragraphs = justext.justext(html.encode("utf-8"), _stoplists[name], encoding="utf-8")
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)

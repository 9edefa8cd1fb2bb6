"""Algorithm parameters of the dedup engine, frozen so that a set of parameters can name itself.

The tag goes into the index's path: sketches made with other parameters never mix.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class MinHashParams:
    """How a text becomes a set of shingles and a MinHash signature (datasketch `affine32`)."""

    shingle_words: int = 3
    num_perm: int = 128
    seed: int = 1
    #: Keep a shingle as an anchor (the containment sketch) when its top bits fall under this
    #: fraction: 1/4 keeps a quarter of the shingles, an unbiased sample shared by every document.
    anchor_rate: float = 0.25

    def tag(self) -> str:
        # "pc": paragraph-bound windows of words, non-text lines without anchors, paragraph keys that
        # count their words (before: "pn", keys without counts; "pw", anchors on all lines).
        return f"pc{self.shingle_words}-p{self.num_perm}-s{self.seed}-a{round(1 / self.anchor_rate)}"


@dataclass(frozen=True, slots=True)
class MatchParams:
    """When two texts count as copies, and of which kind (docs/architecture.md)."""

    #: Candidates: each text is looked up by this many of its anchors (the smallest hashes) ...
    index_keys: int = 16
    #: ... and proposed with a text holding at least this many of them ...
    min_shared_anchors: int = 2
    #: ... and this share of them (an estimate of containment): less cannot pass verification.
    min_candidate_containment: float = 0.2
    #: A key held by more texts than this is too common (a stock phrase) to propose pairs; copies
    #: of a story run more often than this still meet through their rarer keys and their exact text.
    max_anchor_df: int = 100
    #: A paragraph is "found" in the other text when this share of its anchors is there.
    paragraph_found: float = 0.5
    #: A paragraph of at most this many anchors (about 10 words), not found in the other text but
    #: standing between paragraphs that are, is an interruption (an ad, a "Related:" line) and
    #: counts for neither text.
    interruption_anchors: int = 2
    #: Share of a text found in the other (anywhere, in any order) for it to count as included.
    inside: float = 0.8
    #: Share of a text found in a holder whose found paragraphs stand together for it to be
    #: included (a near-duplicate still needs `inside` both ways).
    holds_inside: float = 0.7
    #: ... and when at most this share of its words is paragraphs it lacks entirely (not
    #: copy-edited): the rules' "about 20%", with the margin of counting words (a figure such as
    #: "1-1/4" is three words, a ticker "<BP.L>" two).
    own_max: float = 0.225
    #: A holder that puts text on top of the other's first paragraph, of which less than this
    #: share is found, has rewritten the lede (a version).
    head_kept: float = 0.7
    #: ... unless the holder's first paragraph is partly the other's and at least this share of the
    #: other's lede is found: a lede kept under copy edits, not rewritten.
    head_edited: float = 0.6
    #: Found paragraphs that fill less than this share of the span from the first to the last are
    #: interleaved with the text's own ...
    min_density: float = 0.75
    #: ... and such a text holds the other only when this share of the other is found in it.
    interleaved_inside: float = 0.9
    #: Least share of one text found in the other for the pair to be a version at all.
    version_min: float = 0.3
    #: A text of fewer words than this ...
    short_words: int = 40
    #: ... set against one this many times longer is too short to call a copy of it.
    short_ratio: float = 3.0
    #: A text that holds texts of several stories joins the one covering at least this share of it,
    #: and none when no story covers that much (a digest of briefs).
    main_story: float = 0.6
    #: A paragraph found in this many different texts of one source is that source's boilerplate
    #: (dedup.boilerplate) and left out of every comparison.
    boilerplate_min_texts: int = 6
    #: ... when it is printed after, or before, this many different paragraphs: a footer, a
    #: kicker, a plug; not the paragraphs of a story its source prints again and again (the
    #: snapshots of a live page, its write-throughs), which stand between the same ones.
    boilerplate_min_contexts: int = 3
    #: A paragraph at the end of a text (`boilerplate.WIRE_TAIL`) that this many texts of any
    #: sources print at their ends too is a line the wire and its outlets print under story after
    #: story (a licence, a copyright, a syndication line): boilerplate when no paragraph stands
    #: among the few before it in half those texts or more (the last paragraphs of a story have the
    #: same ones before them in most of its copies) and no text opens with it.
    wire_min_texts: int = 8

    def counted_min_texts(self) -> int:
        """The fewest texts that a line must be held by to be boilerplate by any rule."""
        return min(self.boilerplate_min_texts, self.wire_min_texts)


@dataclass(frozen=True, slots=True)
class DedupParams:
    """Every parameter of the dedup engine."""

    minhash: MinHashParams = field(default_factory=MinHashParams)
    match: MatchParams = field(default_factory=MatchParams)

    def tag(self) -> str:
        """Short name of these parameters, for paths: sketch parameters plus a digest of the rest."""
        digest = hashlib.sha1(repr(asdict(self.match)).encode()).hexdigest()[:8]
        return f"{self.minhash.tag()}-m{digest}"

"""Synthetic news corpora with planted copies, for tests and benchmarks.

Stories are made of sentences drawn from a vocabulary written for the project (Zipf-weighted, so
common words repeat as in real text), or cut from real newswire text when a source of paragraphs
is given (../shared/data/news in the benchmarks). Each planted copy is one of the relations
(docs/architecture.md): near-duplicate (a few words changed), expanded (the story plus added
paragraphs), excerpt (its first paragraphs), plus versions (some paragraphs kept, new ones
between) that must not cluster.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from dedup.records import Doc

_WORDS = (
    "the of and to in a said on for that with was as by at from its is it he has be have an will were "
    "are but after they their which who more than had been also over year years new would about one "
    "two three four five first last week percent million billion city council government minister "
    "officials police court company market shares prices report state national people workers union "
    "strike port harbour ferry rail bridge water drought farmers school board budget tax vote "
    "election party leader president chief executive bank rates inflation growth economy trade "
    "exports imports deal talks agreement plan proposal project fire crews residents storm flood "
    "weather season festival museum library hospital clinic health doctors patients research "
    "university study scientists data energy power plant battery solar wind oil gas fuel costs "
    "contract investment funding million dollars spokesperson statement tuesday wednesday thursday "
    "friday monday saturday sunday morning evening night early late local regional federal county "
    "district north south east west river coast valley lake mountain road highway traffic transit "
    "service services line expected announced reported confirmed denied approved rejected delayed "
    "opened closed increase decrease record high low rise fall quarter month months day days hours "
    "team season game match title win lost coach players fans stadium club league final"
).split()


@dataclass(slots=True)
class Planted:
    """A synthetic corpus: the docs and, for each, its planted cluster and kind."""

    docs: list[Doc]
    cluster: dict[str, str]
    kind: dict[str, str]


_SYLLABLES = (
    "ba be bi bo bu ca co cu da de di do fa fe fi fo ga ge go ha he hi ho ka ke ki ko la le li lo lu "
    "ma me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru sa se si so su ta te ti to tu va ve vi "
    "vo wa we wi ya yo za zo ston berg ford land ville mark ton ley ridge"
).split()


def _vocabulary(size: int, seed: int = 99) -> list[str]:
    """Common English words first, then made-up words for the long tail (names, places, terms)."""
    rng = np.random.default_rng(seed)
    words = list(dict.fromkeys(_WORDS))
    seen = set(words)
    while len(words) < size:
        n = int(rng.integers(2, 5))
        word = "".join(_SYLLABLES[int(i)] for i in rng.integers(len(_SYLLABLES), size=n))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class _Writer:
    def __init__(self, rng: np.random.Generator, paragraphs: Sequence[str] | None) -> None:
        self.rng = rng
        self.pool = list(paragraphs) if paragraphs else None
        self.next = 0
        if self.pool:
            rng.shuffle(self.pool)
        self.vocab = _vocabulary(40_000)
        weights = 1.0 / np.arange(1, len(self.vocab) + 1) ** 1.05
        self.cdf = np.cumsum(weights / weights.sum())

    def _pick(self, n: int) -> list[str]:
        idx = np.minimum(np.searchsorted(self.cdf, self.rng.random(n)), len(self.vocab) - 1)
        return [self.vocab[i] for i in idx.tolist()]

    def paragraph(self) -> str:
        if self.pool:
            # Each real paragraph is used once before any is used again: stories share no text.
            self.next += 1
            return self.pool[(self.next - 1) % len(self.pool)]
        lengths = self.rng.integers(8, 28, size=int(self.rng.integers(2, 4)))
        picks = self._pick(int(lengths.sum()))
        sentences, at = [], 0
        for n in lengths.tolist():
            text = " ".join(picks[at : at + n])
            sentences.append(text[0].upper() + text[1:] + ".")
            at += n
        return " ".join(sentences)

    def story(self, words: int) -> list[str]:
        paras: list[str] = []
        while sum(len(p.split()) for p in paras) < words:
            paras.append(self.paragraph())
        return paras

    def edit(self, paras: list[str], n_edits: int) -> list[str]:
        out = list(paras)
        for _ in range(n_edits):
            k = int(self.rng.integers(len(out)))
            words = out[k].split()
            words[int(self.rng.integers(len(words)))] = self._pick(1)[0]
            out[k] = " ".join(words)
        return out


def planted_corpus(
    n_stories: int,
    *,
    copy_rate: float = 0.3,
    mean_words: int = 700,
    seed: int = 0,
    paragraphs: Sequence[str] | None = None,
    start: datetime = datetime(2026, 3, 1, tzinfo=UTC),
    id_prefix: str = "s",
    spread_days: int = 30,
) -> Planted:
    """`n_stories` stories; a share `copy_rate` of them get 1-4 planted copies or versions."""
    rng = np.random.default_rng(seed)
    w = _Writer(rng, paragraphs)
    docs: list[Doc] = []
    cluster: dict[str, str] = {}
    kind: dict[str, str] = {}
    for s in range(n_stories):
        length = max(60, int(rng.normal(mean_words, mean_words / 3)))
        story = w.story(length)
        when = start + timedelta(minutes=int(rng.integers(0, 60 * 24 * spread_days)))
        sid = f"{id_prefix}{s:07d}"
        docs.append(Doc(sid, "\n\n".join(story), source=f"pub{s % 50}", published_at=when))
        cluster[sid], kind[sid] = sid, "original"
        if rng.random() >= copy_rate:
            continue
        for c in range(int(rng.integers(1, 5))):
            k = ("near_duplicate", "expanded", "excerpt", "version")[int(rng.integers(4))]
            body = _copy(w, story, k)
            cid = f"{sid}-{c}"
            later = when + timedelta(minutes=int(rng.integers(5, 60 * 24 * 3)))
            docs.append(Doc(cid, "\n\n".join(body), source=f"pub{(s + c + 1) % 50}", published_at=later))
            cluster[cid] = f"{sid}-v{c}" if k == "version" else sid
            kind[cid] = k
    order = rng.permutation(len(docs))
    return Planted([docs[i] for i in order], cluster, kind)


def _copy(w: _Writer, story: list[str], kind: str) -> list[str]:
    n = len(story)
    if kind == "near_duplicate":
        return w.edit(story, 3)
    if kind == "expanded":
        return story + [w.paragraph() for _ in range(max(2, n))]
    if kind == "excerpt":
        return story[: max(1, int(n * 0.4))]
    keep = sorted(w.rng.choice(n, size=max(1, n // 2), replace=False))
    out: list[str] = [w.paragraph()]
    for k in keep:
        out.append(story[int(k)])
        out.append(w.paragraph())
    return out


def newswire_paragraphs(path: str, limit: int | None = None) -> Iterator[str]:
    """Paragraphs of real newswire stories (Reuters-21578 JSONL.gz: a `body` field each)."""
    import gzip
    import json

    count = 0
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            body = json.loads(line).get("body") or ""
            for para in body.split("\n\n") if "\n\n" in body else body.split("\n"):
                para = " ".join(para.split())
                if len(para.split()) >= 12:
                    yield para
                    count += 1
                    if limit is not None and count >= limit:
                        return

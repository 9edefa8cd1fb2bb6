"""Lines that are not an article's text are recognised from their form, in one text or a batch."""

from __future__ import annotations

import pytest

from dedup.fingerprint import fingerprint
from dedup.nontext import nontext_paragraphs
from dedup.text import paragraphs

NOT_TEXT = [
    "(AP Photo/Jane Doe)",
    "A delegate speaks in Lisbon, Tuesday, March 3, 2026. (AP Photo/Ana Brito, File)",
    "A trader waits in Porto, Monday, March 2, 2026. (Jane Doe/Reuters)",
    "Officials arrive for a meeting in Madrid, Friday, March 6, 2026.",
    "FILE - In this March 2, 2026, file photo, the minister arrives for a meeting in Lisbon.",
    "Photo: Jane Doe, AP",
    "Image 3 of 7",
    "1 / 7",
    "By Staff and wire reports",
    "From wire services",
    "This story was originally published by Reuters.",
    "Reporting by Jane Doe; Editing by John Roe",
    "Related: Markets wrap for March 5, 2026",
    "Read more",
    "Read the full story",
    "More: Talks on the harbour strike resume",
    "ADVERTISEMENT",
    "Story continues below",
    "Sign up for our morning newsletter.",
    "Copyright 2026 The Associated Press. All rights reserved.",
    "\u00a9 2026 Harbor News",
    "This material may not be published, broadcast, rewritten or redistributed.",
    "Reuters | Updated March 11, 2026",
    "window._taboola = window._taboola || []; _taboola.push({ mode: 'thumbnails-c' });",
]
TEXT = [
    "The council said on Tuesday it would reopen the ferry terminal by the end of the month.",
    "More than 100 workers joined the strike at the port, the union said.",
    "By the end of the week, prices had fallen by a fifth, traders said.",
    "Photographers waited outside the court for the minister, who did not speak to reporters.",
    "The company said it had paid 3.5 billion dlrs for the unit, which makes solar panels.",
    "Ferry services will resume on Monday, March 9, 2026, the operator said in a statement on its website "
    "after a week of talks with the union and the harbour board, which had asked for more staff.",
]


@pytest.mark.parametrize("line", NOT_TEXT)
def test_each_kind_of_non_text_line_is_recognised(line: str) -> None:
    assert nontext_paragraphs(f"{line}\n{TEXT[0]}") == [0]


@pytest.mark.parametrize("line", TEXT)
def test_sentences_of_news_are_text(line: str) -> None:
    assert nontext_paragraphs(line) == []


def test_a_batch_gives_non_text_lines_no_anchors_and_the_text_around_them_all_of_its() -> None:
    body = "\n\n".join(TEXT)
    dressed = "\n\n".join([NOT_TEXT[0], *TEXT[:3], *NOT_TEXT[5:12], *TEXT[3:], *NOT_TEXT[18:]])
    fp = fingerprint([body, dressed])
    plain, with_junk = (set(fp.anchors_of(i)[0].tolist()) for i in (0, 1))
    assert plain and plain == with_junk  # the junk lines added no anchor, the text lost none


def test_a_batch_of_texts_gives_each_text_its_own_non_text_paragraphs(monkeypatch) -> None:
    # Many texts at once (the added text of every expanded copy of a run), cut into chunks: each
    # text's mask is its own, paragraph for paragraph, empty and wordless texts included.
    import dedup.fingerprint as fpm

    texts = [
        "\n\n".join([NOT_TEXT[k % len(NOT_TEXT)], TEXT[k % len(TEXT)], NOT_TEXT[(3 * k) % len(NOT_TEXT)]])
        for k in range(40)
    ]
    texts[5], texts[17], texts[30] = "", "... --- ...", TEXT[0]
    monkeypatch.setattr(fpm, "_CHUNK_CHARS", 300)  # a few texts a chunk
    masks = fpm.nontext_masks(texts)
    assert len(masks) == len(texts)
    for text, mask in zip(texts, masks, strict=True):
        assert mask.size == len(paragraphs(text))
        assert mask.nonzero()[0].tolist() == nontext_paragraphs(text)
    assert masks[0].tolist() == [True, False, True]
    assert masks[30].tolist() == [False]


def test_non_text_paragraphs_are_counted_as_paragraphs_counts_them() -> None:
    # A whitespace-only paragraph between blank lines is a paragraph of its own: the caption after
    # it is the third, for the sketch, the added text and explain alike.
    text = f"{TEXT[0]}\n\n \n\n{NOT_TEXT[0]}\n\n{TEXT[1]}"
    assert paragraphs(text)[2] == NOT_TEXT[0]
    assert nontext_paragraphs(text) == [2]

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
    # the forms of real wire copies: Reuters and AFP captions, credit lines, contributor lines,
    # the wire's own notes and a page's widgets
    "Ukrainian servicemen fire a howitzer near Bakhmut, Ukraine, May 3, 2024. REUTERS/Jane Doe/File Photo",
    "A view shows the damaged building in Kyiv, Ukraine May 3, 2024. REUTERS/Jane Doe",
    "REUTERS/Jane Doe",
    "The president speaks in the East Room of the White House in Washington, on January 9, 2024, about "
    "the economy and the border. JIM ROE/AFP via Getty Images",
    "Jane Doe/AP",
    "Jane Doe / The Associated Press",
    "The Associated Press",
    "Associated Press writer Jane Doe in London contributed to this report.",
    "John Roe contributed reporting from Lisbon.",
    "The Associated Press' climate coverage receives financial support from private foundations. AP is "
    "solely responsible for all content.",
    "Follow AP's coverage of the election at https://apnews.com/hub/election",
    "Follow Jane Doe on X: @janedoe",
    "Contact Jane Doe at jdoe@example.com",
    "THIS IS A BREAKING NEWS UPDATE. AP's earlier story follows below.",
    "This is a developing story. Check back for updates.",
    "This story has been updated to include comments from the mayor.",
    "Purchase Licensing Rights, opens new tab",
    "Our Standards: The Thomson Reuters Trust Principles., opens new tab",
    "Get the latest news delivered to your inbox.",
    "Share on Facebook",
    "Click to expand",
    "Loading...",
    "Jane Doe, The Associated Press",
    "WASHINGTON (AP) \u2014",
    "LONDON, March 3 (Reuters) -",
    "January 9, 2024",
    "Jan. 9, 2024 at 3:45 p.m. EST",
    "3 min read",
    "Listen to this article",
    "Video above: The minister arrives in Lisbon",
    "Advertisement - scroll to continue",
]
TEXT = [
    "The council said on Tuesday it would reopen the ferry terminal by the end of the month.",
    "More than 100 workers joined the strike at the port, the union said.",
    "By the end of the week, prices had fallen by a fifth, traders said.",
    "Photographers waited outside the court for the minister, who did not speak to reporters.",
    "The company said it had paid 3.5 billion dlrs for the unit, which makes solar panels.",
    "Ferry services will resume on Monday, March 9, 2026, the operator said in a statement on its website "
    "after a week of talks with the union and the harbour board, which had asked for more staff.",
    # sentences that share words with the lines above
    "Support for the plan fell to 38%, according to a Reuters/Ipsos poll.",
    "The Associated Press has not independently verified the footage.",
    "Associated Press reporters saw smoke rising over the harbour on Tuesday.",
    "The company is solely responsible for all content on its platform, the judge ruled.",
    "He said he contributed to the article.",
    "Contact tracing officials said people could write to info@health.example for help.",
    "Get the latest figures on the app, the company urged customers.",
    "Loading of ships at the port resumed on Monday.",
    "Share prices fell 3% on the news.",
    "Our standards are high, the chief executive said.",
    "Follow the money, the investigator said.",
    "This is a story about a town that refused to give up, the mayor said.",
    "Shares of the company, which opens new offices in Berlin this year, rose 3%.",
    "The ship arrived on May 3, 2024. Customs officers inspected it.",
    "May 3, 2024 was the deadline for filings, the agency said.",
    # a link word in a compound starts a sentence, not a widget line
    "Video-sharing platforms must remove the clips within an hour, the regulator said.",
    "Watch-makers in Switzerland reported a fall in exports in March.",
    "More-than-expected inflation hit stocks.",
    "Related-party deals were scrutinised.",
    "Ad-hoc committees met on Tuesday.",
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

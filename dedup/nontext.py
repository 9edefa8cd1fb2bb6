"""Lines inside an article body that are not its text: captions, credits, bylines, link lines, footers.

Real reprints carry them in the body: an outlet runs its own photo with its own caption, its own
"Related:"/"Read more" lines, gallery and video widgets, the wire's copyright line. They are not
text (a copy is judged on its body alone): two copies of one story carry different ones, and
two unrelated stories of one wire carry the same ones. Per-source boilerplate (dedup.boilerplate)
learns the lines one source repeats; this module recognises the kinds of line that no text is
made of, whoever prints them, from their form alone, so a caption printed once is caught too.

A paragraph is non-text when the whole of it is one of:
- a photo caption or credit: ends with a credit in parentheses ("(AP Photo/Jane Doe)") or after a
  slash (". Jane Doe/AP", "JANE DOE/AFP via Getty Images", "..., May 3, 2024. REUTERS/Jane Doe/File
  Photo"), is a credit alone ("Jane Doe/AP", "The Associated Press"), begins "FILE -", "Photo:",
  "Image:", "Credit:", or is a gallery counter ("Image 2 of 7", "1 / 7");
- a byline, a wire tag or a contributor line: "By ..." (short), "From wire services", "This story
  was originally published by ...", "Reporting by ...", "Editing by ...", "... contributed to this
  report", "... contributed reporting";
- a status line of a running story: "This is a breaking news update ...", "This is a developing
  story", "This story has been updated ...", "Check back for updates";
- a link or widget line: "Related: ...", "Read more", "More: ...", "See also", "Recommended ...",
  "Now playing", "Advertisement", "Story continues below", "Back to gallery", "Sign up ...",
  "Share on Facebook", "Click to expand", "..., opens new tab", "Purchase Licensing Rights";
- a reporter's or a desk's contact line: "Follow ... on X: @...", "Follow ...'s coverage at
  https://...", "Contact Jane Doe at jdoe@...", "Get the latest news delivered to your inbox";
- a copyright or licence line ("Copyright 2026 ...", "All rights reserved", "may not be published,
  broadcast, rewritten or redistributed"), or a wire's funding note ("AP is solely responsible for
  all content");
- a timestamp, a date or a dateline alone ("Updated March 11, 2026", "Reuters | Updated ...",
  "January 9, 2024", "WASHINGTON (AP) \u2014"), a reading time ("3 min read");
- a script blob (code of an ad or tracking widget).

Each form is checked against news sentences that share its words (tests/dedup/test_nontext.py): a
Reuters/Ipsos poll, "The Associated Press has not verified ...", "Share prices fell" are text, and
so is a sentence that starts with a compound of a link word ("Video-sharing platforms ...").

The patterns run on the prepared text (lower-cased, one paragraph a line) of `dedup.text`, and
only paragraphs of at most `_MAX_CHARS` characters can match: a long paragraph is text, whatever
words it starts with.
"""

from __future__ import annotations

import re

import numpy as np

_MAX_CHARS = 400  # bytes
_PREFIX_CHARS = 240  # bytes: the longest line a prefix pattern is tried on
_NEWLINE = 10

# Patterns that begin at the start of the paragraph (cheap: most lines fail on their first word).
_PREFIX_PATTERNS = [
    # captions and credits
    r"file\s*(?:photo)?\s*[-\u2013\u2014:][^\n]{0,220}",
    r"(?:photo|photos|photograph|image|images|picture|pictured|caption|credit|credits|source|media)"
    r"\s*(?:credit)?\s*:[^\n]*",
    r"(?:image|photo|slide)\s+\d+\s+(?:of|/)\s+\d+",
    r"\d+\s*/\s*\d+",
    # bylines and wire tags
    r"by\s+[^\n]{1,60}",
    r"(?:from\s+)?(?:staff\s+and\s+)?wire\s+(?:services|reports)",
    r"(?:by\s+)?staff\s+and\s+wire\s+reports",
    r"this\s+(?:story|article|report)\s+(?:was\s+|has\s+been\s+)?(?:originally\s+|first\s+)?"
    r"(?:published|appeared|posted|updated|corrected)\b[^\n]*",
    # status lines of a running story
    r"this\s+is\s+a\s+(?:breaking\s+news\s+update|developing\s+(?:news\s+)?story)\b[^\n]*",
    r"check\s+back\s+(?:later\s+|soon\s+)?for\s+(?:updates|more)\b[^\n]*",
    r"(?:additional\s+)?(?:reporting|editing|writing|compiled)\s+by\b[^\n]*",
    r"reuter|reuters",
    # a Reuters credit alone: "REUTERS/Jane Doe/File Photo"
    r"reuters\s*/\s*[^\n/]{2,40}(?:/\s*[^\n/]{2,20})?",
    # link, widget and ad lines
    r"(?:related|related\s+coverage|related\s+stories|read\s+more|read\s+next|read\s+(?:the\s+)?full\s+(?:story|article)|more|more\s+from\s+[^\n:]{1,40}"
    r"|see\s+also|also\s+read|also\s+see|recommended(?:\s+video)?|(?:watch|video)(?:\s+(?:above|below))?|gallery"
    r"|listen(?:\s+to\s+(?:this|the)\s+(?:article|story))?|now\s+playing"
    r"|sponsored|promoted|trending|popular|most\s+read|top\s+stories|latest)"
    r"(?:(?:\s*[:|\u2013\u2014>]|\s+-|-\s)[^\n]*)?",  # a hyphen with no space is a compound: "video-sharing"
    r"(?:advertisement|advert)(?:\s*[-\u2013\u2014:|]\s*[^\n]{0,60})?|ad(?:\s+[-\u2013\u2014|]\s+[^\n]{0,60})?"
    r"|story\s+continues\s+(?:below|after\s+(?:this\s+)?(?:ad|advertisement))"
    r"|back\s+to\s+gallery|skip\s+ad|continue\s+reading|click\s+(?:here|to\s+\w+)[^\n]*|loading\s*(?:\.{1,3})?",
    r"(?:view|show|hide)\s+comments|(?:share\s+your\s+thoughts|join\s+the\s+conversation)\b[^\n]*",
    r"(?:sign\s+up|subscribe|have\s+a\s+news\s+tip|follow\s+us|share\s+this|download\s+our\s+app)\b[^\n]*",
    r"share\s+(?:on|via)\s+(?:facebook|x|twitter|linkedin|whatsapp|email|reddit|pinterest)\b[^\n]*",
    r"purchase\s+licensing\s+rights\b[^\n]*|our\s+standards\s*:[^\n]*",
    r"get\s+(?:the\s+)?(?:latest|breaking|top|daily|our)\b[^\n]{0,80}?\b(?:inbox|newsletter|alerts)\b[^\n]*",
    # a reporter's or a desk's contact and social lines
    r"follow\s+[^\n]{0,100}?(?:https?://|www\.|@\w|\bon\s+(?:x|twitter|facebook|instagram|threads|bluesky"
    r"|tiktok|youtube|linkedin)\b)[^\n]*",
    r"contact\s+(?:[^\s@]+\s+){0,5}?(?:at|via|by\s+email\s+at|:)\s*[\w.+-]+@[\w-]+\.[\w.]+[^\n]{0,60}",
    # timestamps, a date alone, a reading time
    r"(?:[^\n|]{1,40}\|\s*)?(?:updated|published|posted|last\s+updated)\b[^\n]{0,60}",
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?\s+\d{1,2},?\s+\d{4}"
    r"(?:,?\s*(?:at\s+)?\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)(?:\s+[a-z]{2,4})?)?",
    r"\d{1,2}\s*(?:min|mins|minute|minutes)\s+read",
]
_PREFIX = re.compile("[ \\t]*(?:" + "|".join(f"(?:{p})" for p in _PREFIX_PATTERNS) + r")[ \t]*")

#: Words that mark a paragraph that may be non-text wherever they stand in it (looked up by their
#: hashes for the whole batch at once, like `FIRST_WORDS`); the paragraph is then checked whole
#: against `_CONTAINS`. A "\u00a9" sign marks one too.
HINT_WORDS = (
    "ap afp reuters getty epa upi bloomberg photo photos images copyright reserved redistributed "
    "associated contributed solely opens "
    "window document function var googletag adsbygoogle push "
    "monday tuesday wednesday thursday friday saturday sunday"
).split()
#: Parts of the lines that `_CONTAINS` matches without a credit or a year at their end.
_STRONG = (
    "copyright",
    "\u00a9",
    "(c)",
    "reserved",
    "may not be",
    "window.",
    "document.",
    "function",
    "var ",
    "googletag",
    "adsbygoogle",
    ".push(",
    "getty",
    "photo",
)
#: First words of the paragraphs that `_PREFIX` can match (a paragraph starting with a digit is
#: checked too).
FIRST_WORDS = (
    "file photo photos photograph image images picture pictured caption credit credits source media slide by "
    "from staff wire this reporting editing writing compiled additional reuter reuters related read more see "
    "also recommended watch video view show hide share join gallery listen now sponsored promoted trending "
    "popular most top latest advertisement advert ad story back skip continue click sign subscribe have "
    "follow download purchase our get check contact loading "
    "updated published posted last "
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
).split()
_CONTAINS = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            # a caption that ends with its credit
            r".*\((?:ap|afp|reuters|getty|epa|upi|bloomberg|[^()]{0,40}photo)[^()]{0,80}\)[ .]*",
            r".*\([^()]{0,60}/\s*(?:ap|afp|reuters|getty\s+images|epa|upi|bloomberg)\b[^()]{0,20}\)[ .]*",
            # the wire caption's form: "<who> <does what> in <place>, <weekday>, <month> <day>, <year>."
            r".{0,200},\s*(?:mon|tues|wednes|thurs|fri|satur|sun)day,\s*[a-z]{3,9}\.?\s+\d{1,2},\s*\d{4}\.?"
            r"(?:\s*\([^()]*\))?[ .]*",
            r".{0,120}\b(?:getty images|associated press photo|ap photo|reuters photo)\b.{0,40}",
            # copyright and licence lines
            r".*(?:copyright|\u00a9|\(c\))\s*(?:\u00a9\s*)?\d{4}\b.*",
            r".*\ball\s+rights\s+reserved\b.*",
            r".*\bmay\s+not\s+be\s+(?:published|reproduced),?\s+broadcast.*",
            # script blobs
            r".*(?:window\.\w|document\.\w|function\s*\(|\bvar\s+\w+\s*=|googletag|adsbygoogle|\w+\.push\(\{).*",
        )
    )
)

#: Forms tried only on the lines that hold their key (a plain substring test), so the many lines
#: that `_CONTAINS` reads do not pay for them.
_KEYED = tuple(
    (key, re.compile(pattern))
    for key, pattern in (
        # a credit after the caption, or alone: "... on Jan. 9, 2024. Jane Doe/AP", "Jane Doe/AFP via
        # Getty Images", "... in Kyiv, Ukraine, May 3, 2024. REUTERS/Jane Doe/File Photo"
        (
            "/",
            r"(?:.*[.!?\u201d\"]\s+)?[^\s/.!?]+(?:\s+[^\s/.!?]+){0,3}\s*/\s*(?:the\s+)?(?:ap|afp|epa|upi|reuters"
            r"|bloomberg|getty\s+images|associated\s+press)(?:\s*[,/]\s*(?:file(?:\s+photo)?|pool))?"
            r"(?:\s+via\s+getty\s+images)?[ .]*"
            r"|.*\b\d{4}\.?\s+reuters\s*/\s*[^\n/]{2,40}(?:/\s*[^\n/]{2,20})?",
        ),
        # a contributor's line: "Associated Press writer Jane Doe in London contributed to this report."
        (
            "contributed",
            r".{0,200}\bcontributed\s+(?:to\s+this\s+(?:report|story|article)"
            r"|reporting(?:\s+from\s+[^\n]{1,60})?)[ .]*",
        ),
        (
            "associated press",
            r"(?:[-\u2013\u2014]\s*)?(?:[^\s,/.]+(?:\s+[^\s,/.]+){0,3},\s*)?"
            r"(?:the\s+)?associated\s+press[ .]*",
        ),
        # a dateline alone: "WASHINGTON (AP) \u2014", "LONDON, March 3 (Reuters) -"
        (
            "(",
            r"[a-z .'-]{2,30}(?:,\s*[a-z]{3,9}\.?\s+\d{1,2})?"
            r"\s*\((?:ap|reuters|afp|upi|bloomberg)\)\s*[-\u2013\u2014:]*",
        ),
        # a wire's funding note, a page's link widgets
        (
            "solely",
            r".*\b(?:ap|the\s+associated\s+press)\s+is\s+solely\s+responsible\s+for\s+all\s+content\b.*",
        ),
        ("opens", r".{0,120},?\s*opens\s+(?:in\s+)?(?:a\s+)?new\s+(?:tab|window)[ .]*"),
    )
)


def nontext_lines(
    data: np.ndarray, first_words: np.ndarray, hinted: np.ndarray, ends: np.ndarray | None = None
) -> np.ndarray:
    """Which lines of `data` (the UTF-8 bytes of prepared texts, each line ending in a newline) are
    not text. Per line, `first_words` says whether its first word is one of `FIRST_WORDS` and
    `hinted` whether it holds one of `HINT_WORDS` (`dedup.fingerprint` finds both for the whole
    batch from the word hashes). Only lines that start with such a word or a digit, or hold a hint
    word or a copyright sign, and are at most `_MAX_CHARS` bytes long are read by the patterns: a
    handful per text. `ends`, the newlines' offsets, is found if not given."""
    ends = np.flatnonzero(data == _NEWLINE) if ends is None else ends
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    out = np.zeros(ends.size, dtype=bool)
    if ends.size == 0:
        return out
    short = (ends - starts) <= _MAX_CHARS
    lead = data[np.minimum(starts, data.size - 1)]
    length = ends - starts
    # Caption, byline and link lines are short: a line longer than _PREFIX_CHARS that starts with
    # "This", "By" or "More" is a sentence, and one that starts with a number and is longer than a
    # gallery counter ("1 / 7") is too. Neither is read (the fingerprint of most news paragraphs
    # then runs no pattern at all).
    digit = (lead >= 0x30) & (lead <= 0x39)
    by_prefix = (first_words & (length <= _PREFIX_CHARS)) | (digit & (length <= 16))
    hinted = hinted.copy()
    signs = np.flatnonzero(data[:-1] == 0xC2)
    signs = signs[data[signs + 1] == 0xA9]  # U+00A9, the copyright sign
    if signs.size:
        hinted[np.searchsorted(ends, signs)] = True
    raw = data.tobytes()
    for k in np.flatnonzero(by_prefix | (hinted & short)).tolist():
        line = raw[starts[k] : ends[k]].decode("utf-8", "replace")
        out[k] = bool((by_prefix[k] and _PREFIX.fullmatch(line)) or (hinted[k] and _contains(line.strip())))
    return out


def _contains(line: str) -> bool:
    """`_CONTAINS.fullmatch(line)`, skipped where a plain test shows it cannot match (every pattern
    but the licence, copyright and script ones needs the line to end with a credit or a year), or
    one of `_KEYED` on a line that holds its key."""
    if any(key in line and pattern.fullmatch(line) for key, pattern in _KEYED):
        return True
    tail = line.rstrip(" .")
    if not (tail.endswith(")") or tail[-4:].isdigit() or any(k in line for k in _STRONG)):
        return False
    return _CONTAINS.fullmatch(line) is not None


def nontext_paragraphs(text: str) -> list[int]:
    """Indices of the paragraphs of one text (`dedup.text.paragraphs`) that are not text, for what
    reads one text (explain); `dedup.fingerprint.nontext_masks` does many at once."""
    from dedup.fingerprint import nontext_masks

    return np.flatnonzero(nontext_masks([text])[0]).tolist()

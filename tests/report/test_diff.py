"""A copy set against its original: what it added, what it kept, what it edited."""

from __future__ import annotations

import re

from report.diff import PARA, diff, summary, tokens

STORY = (
    "Dockworkers walked off the job on Monday over an automation plan.\n"
    "The union says six hundred jobs would go within five years.\n"
    "The port authority says most of them would go through retirement.\n"
    "Ships waited at anchor in the outer roads by mid-morning."
)
EXPLAINER = "What is automation at a port?\nIt means cranes and trucks that run without drivers."


def render(original: list[str], ops: list[list[object]]) -> str:
    """The copy, rebuilt from the operations: the diff must lose nothing."""
    out: list[str] = []
    for op in ops:
        if op[0] == "=":
            out += original[op[1] : op[2]]  # type: ignore[misc]
        elif op[0] in "+~":
            out += _words(str(op[-1]))
    return " ".join(out)


def _words(text: str) -> list[str]:
    """Like `tokens`, keeping a paragraph break at either end (an addition may start with one)."""
    return [PARA if "\n" in t else t for t in re.findall(r"\s*\n\s*|\S+", text)]


def test_paragraph_breaks_are_tokens_whatever_the_line_breaks() -> None:
    assert tokens("a b\nc\n\n\nd") == ["a", "b", PARA, "c", PARA, "d"]


def test_an_expanded_copy_shows_its_explainer_as_one_addition() -> None:
    original, copy = tokens(STORY), tokens(STORY + "\n" + EXPLAINER)
    ops = diff(original, copy)
    assert [op[0] for op in ops] == ["=", "+"]
    assert " ".join(str(ops[1][1]).split()) == " ".join(EXPLAINER.split())
    counts = summary(ops, original)
    assert counts == {"kept": len(STORY.split()), "added": len(EXPLAINER.split()), "dropped": 0, "edited": 0}
    assert render(original, ops) == " ".join(copy)


def test_an_excerpt_shows_what_it_did_not_keep() -> None:
    paragraphs = STORY.split("\n")
    original, copy = tokens(STORY), tokens("\n".join(paragraphs[:2]))
    ops = diff(original, copy)
    assert [op[0] for op in ops] == ["=", "-"]
    dropped = original[ops[1][1] : ops[1][2]]  # type: ignore[misc]
    assert " ".join(w for w in dropped if w != PARA) == " ".join(" ".join(paragraphs[2:]).split())
    assert summary(ops, original)["dropped"] == len(" ".join(paragraphs[2:]).split())


def test_a_few_changed_words_are_an_edit_and_a_rewrite_is_cut_and_added() -> None:
    original = tokens(STORY)
    edited = tokens(STORY.replace("walked off the job", "went on strike"))
    ops = diff(original, edited)
    edits = [op for op in ops if op[0] == "~"]
    assert len(edits) == 1 and edits[0][3] == "went on strike"
    assert " ".join(original[edits[0][1] : edits[0][2]]) == "walked off the job"  # type: ignore[misc]
    assert render(original, ops) == " ".join(edited)

    rewrite = " ".join(f"word{i}" for i in range(30))
    replaced = tokens(STORY.replace("The union says six hundred jobs would go within five years.", rewrite))
    ops = diff(original, replaced)
    assert "~" not in [op[0] for op in ops] and {"-", "+"} <= {op[0] for op in ops}
    assert render(original, ops) == " ".join(replaced)


def test_case_and_punctuation_do_not_count_as_edits() -> None:
    original = tokens(STORY)
    ops = diff(original, tokens(STORY.replace("Monday.", "monday")))
    assert [op[0] for op in ops] == ["="]

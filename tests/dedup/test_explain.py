"""`dedup.explain`: both containments, the paragraphs marked, and the rule that decided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dedup.explain import BOILERPLATE, NOT_TEXT, OWN, SHARED, explain, render
from dedup.records import Doc
from tests.corpora.planted import planted_corpus

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def test_an_interleaved_update_is_explained_as_a_version_paragraph_by_paragraph() -> None:
    story, new = (
        d.text.split("\n\n") for d in planted_corpus(2, copy_rate=0.0, mean_words=400, seed=21).docs
    )
    update = [new[0], story[1], new[1], *story[2:4], new[2]]
    footer = "Harbor Herald Media Group owns this newspaper and prints this line under every story."
    fillers = [
        Doc(f"f{i}", "\n\n".join([s, footer]), source="herald", published_at=T0)
        for i, s in enumerate(d.text for d in planted_corpus(6, copy_rate=0.0, mean_words=80, seed=22).docs)
    ]
    docs = [
        Doc("story", "\n\n".join(story), source="wire", published_at=T0),
        Doc(
            "update",
            "\n\n".join(["Photo: Jane Doe, AP", *update, footer]),
            source="herald",
            published_at=T0 + timedelta(hours=5),
        ),
        *fillers,
    ]
    e = explain(docs, "story", "update")
    assert (e.later.id, e.earlier.id, e.relation) == ("update", "story", "version")
    assert "version" in e.rule and e.grouping["update"].cluster_id != e.grouping["story"].cluster_id
    marks = dict((p, m) for m, p in e.later.paragraphs)
    assert marks["Photo: Jane Doe, AP"] == NOT_TEXT and marks[footer] == BOILERPLATE
    assert marks[new[0]] == OWN and marks[story[1]] == SHARED
    assert 0 < e.earlier.inside < 0.8 and e.later.inside < 0.8
    assert "Relation: version" in render(e)

"""The stable file-name recipe: existing output roots keep their file names only if it never changes."""

from __future__ import annotations

from common.storage import stable_name


def test_stable_name_is_the_pinned_recipe_whatever_the_order() -> None:
    # sha1("a1\nb2")[:16], written out so that a changed recipe fails here, not in a consumer's root.
    assert stable_name(["b2", "a1"]) == "1f6417787edc2bc8"
    assert stable_name(iter(["a1", "b2"])) == "1f6417787edc2bc8"


def test_stable_name_differs_for_other_keys() -> None:
    assert stable_name(["a1"]) != stable_name(["a1", "b2"])

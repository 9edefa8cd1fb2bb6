"""The packages' public API: every name in `__all__` resolves, the import stays cheap, and the
README's first example runs."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

STORY = (
    "The city council voted on Tuesday to extend the harbour tram line by four stations, after a "
    "two-year study found that buses along the waterfront were full at every peak hour. Work starts "
    "in the spring and the first trams should run in late autumn next year, the transport office said. "
    "Residents of the old dock quarter had asked for the line since the ferry terminal moved east."
)
OTHER = (
    "A late frost damaged most of the apricot blossom in the valley orchards this week, growers said, "
    "and the regional cooperative expects less than half of last year's harvest. Insurance covers part "
    "of the loss; the cooperative will ask the ministry for the drought fund to be opened to frost too."
)


@pytest.mark.parametrize("package", ["common", "ingest", "dedup"])
def test_every_public_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError):
        _ = module.no_such_name


def test_importing_the_packages_loads_none_of_their_modules() -> None:
    code = (
        "import sys, common, ingest, dedup\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(('common.', 'ingest.', 'dedup.', "
        "'pyarrow', 'datasketch', 'trafilatura')))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "common.lazy"  # the loader itself, which imports nothing heavy


def test_deduplicate_from_the_package_groups_a_copy_with_its_original() -> None:
    from dedup import DedupResult, Doc, deduplicate

    copy = STORY.replace("on Tuesday", "on Tuesday evening")
    result = deduplicate([Doc(id="a", text=STORY), Doc(id="b", text=copy), Doc(id="c", text=OTHER)])
    assert isinstance(result, DedupResult)
    cluster = {a.article_id: a.cluster_id for a in result.assignments}
    assert set(cluster) == {"a", "b", "c"}
    assert cluster["a"] == cluster["b"] != cluster["c"]

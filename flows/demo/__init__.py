"""A demo newsroom served on 127.0.0.1, for ``copydesk demo`` and for tests: see `DemoNewsroom`.

``DemoNewsroom`` is imported lazily so that ``python -m flows.demo.corpus`` (which rewrites the
manifest) runs without importing the corpus module twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.demo.server import DemoNewsroom

__all__ = ["DemoNewsroom"]


def __getattr__(name: str) -> Any:
    if name == "DemoNewsroom":
        from flows.demo.server import DemoNewsroom

        return DemoNewsroom
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

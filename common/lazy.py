"""Lazy public names for a package's `__init__`: each name is imported from its module on first use.

`import dedup` then costs nothing until a name is used, while `from dedup import deduplicate` works.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, where: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level `__getattr__` and `__dir__` of `package`, whose public names live in `where`.

    Args:
        package: the package's `__name__`, for the error message.
        where: public name -> the module that defines it.
        namespace: the package's `globals()`, where a name is cached once loaded.
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *where])

    return __getattr__, __dir__

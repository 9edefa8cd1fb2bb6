"""Dependencies point one way, `flows -> ingest, dedup` (CONVENTIONS.md): checked on the source's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "dedup": {"ingest", "flows", "prefect"},
    "ingest": {"flows", "prefect"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every absolute import in `path`, wherever in the file it is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_point_one_way(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources found under {package}/"
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in sorted(imported_packages(path) & FORBIDDEN[package])
    ]
    assert offences == []


def test_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from prefect import flow\n    import ingest.fetch\n")
    assert imported_packages(probe) == {"prefect", "ingest"}

"""Writing measured figures into docs/benchmarks.md: one section per command, each replaced whole
by the command that measures it, stamped with the commit it ran on."""

from __future__ import annotations

import subprocess
from pathlib import Path

#: The evaluation data, beside the repository; paths are relative to the working directory, the
#: repository's root, from which `make eval` / `make bench` run `python -m benches.X`.
DATA_ROOT = Path("../shared/data")
BENCHMARKS_MD = Path("docs/benchmarks.md")


def commit(repo: Path | None = None) -> str:
    """``git rev-parse --short HEAD`` of `repo` (``+dirty`` with uncommitted changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def replace_section(path: Path, heading: str, body: str) -> None:
    """Put `body` (which starts with `heading`) in place of the section `heading` of `path`.

    A section runs from its ``## `` heading line to the next ``## `` heading line; other sections
    are kept as they are. Absent section: appended; absent file: created.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == heading), None)
    new = body.rstrip("\n") + "\n"
    if start is None:
        text = text.rstrip("\n") + "\n\n" + new
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        rest = "".join(lines[end:])
        text = "".join(lines[:start]) + new + ("\n" + rest if rest else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")

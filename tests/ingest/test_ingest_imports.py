from __future__ import annotations

import subprocess
import sys

MODULES = [
    "ingest.archive",
    "ingest.batch",
    "ingest.chain",
    "ingest.config",
    "ingest.discover",
    "ingest.extract",
    "ingest.fetch",
    "ingest.pageshape",
    "ingest.pool",
    "ingest.reextract",
    "ingest.sources",
    "ingest.state",
    "ingest.tables",
]


def test_ingest_imports_neither_prefect_nor_flows_and_stays_light():
    code = (
        "import sys\n"
        f"for m in {MODULES!r}: __import__(m)\n"
        "heavy = ('prefect', 'flows', 'trafilatura', 'warcio')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

"""`make bench`, ingestion: fetch + archive + extract beside a bare trafilatura loop; memory, 20,000 pages.

    python -m benches.ingest_speed [--data ../shared/data] [--pages 1000] [--memory-pages 20000]
                                 [--workers 2] [--out docs/benchmarks.md]

- 1,000 generated article pages (20-60 KB of HTML each: styles, scripts, menus, related links,
  comments, footer around a story of real newswire paragraphs when ../shared/data/news is there,
  else the project's own vocabulary) on 20 hosts, 127.0.0.1 to 127.0.0.20, served by a threaded
  HTTP server in another process; politeness delays off, robots.txt read and obeyed.
- Copydesk: `ingest.batch.ingest_refs` over all of them (fetch async, archive, extract in the
  process pool), pages/s from the first request to the last article, best of a few runs, each
  into a fresh archive. Baseline: one process calling ``trafilatura.extract`` (defaults) on the
  same pages' HTML, already in memory.
- Memory: a fresh process runs `extract_page` over the pages again and again (20,000 in all);
  its RSS after the first pass is the warm level, and the growth past it is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from benches.extraction import git_commit
from benches.sections import BENCHMARKS_MD, DATA_ROOT, replace_section
from tests.corpora.news_pages import news_pages

if TYPE_CHECKING:
    from ingest.records import RawPage

SECTION = "## Ingestion speed (`make bench`)"
HOSTS = 20


def make_pages(n: int, *, data: Path) -> dict[str, bytes]:
    """The bench's pages: real newswire paragraphs when ../shared/data/news is there."""
    from tests.corpora.planted import newswire_paragraphs

    news = data / "news" / "reuters21578.jsonl.gz"
    paragraphs = list(newswire_paragraphs(str(news))) if news.exists() else None
    return news_pages(n, hosts=HOSTS, paragraphs=paragraphs)


# --- the server (its own process) ----------------------------------------------------------------


def serve(root: Path) -> None:
    """Serve the pages under `root` on 127.0.0.1-20, one port; print the port, run until stdin closes."""
    pages = {f"/{p.relative_to(root).as_posix()}": p.read_bytes() for p in root.rglob("*.html")}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            host = int(self.server.server_address[0].rsplit(".", 1)[1]) - 1  # type: ignore[index]
            path = self.path.split("?", 1)[0]
            body = b"User-agent: *\nAllow: /\n" if path == "/robots.txt" else pages.get(f"/{host}{path}")
            self.send_response(200 if body is not None else 404)
            self.send_header(
                "Content-Type", "text/plain" if path == "/robots.txt" else "text/html; charset=utf-8"
            )
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:
            return

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler)]
    port = servers[0].server_address[1]
    servers += [ThreadingHTTPServer((f"127.0.0.{h + 1}", port), Handler) for h in range(1, HOSTS)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(port, flush=True)
    sys.stdin.read()


def _urls(pages: dict[str, bytes], port: int) -> list[str]:
    urls = []
    for path in pages:
        host, rest = path[1:].split("/", 1)
        urls.append(f"http://127.0.0.{int(host) + 1}:{port}/{rest}")
    return urls


# --- measurements --------------------------------------------------------------------------------


@dataclass(slots=True)
class Rate:
    """Best pages/s seen, and the least CPU time per page (all processes involved), in ms."""

    per_s: float = 0.0
    cpu_ms: float = float("inf")

    def add(self, pages: int, wall_s: float, cpu_s: float) -> None:
        self.per_s = max(self.per_s, pages / wall_s)
        self.cpu_ms = min(self.cpu_ms, 1000 * cpu_s / pages)


def _cpu_s(pid: int) -> float:
    """CPU time (user + system) of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_bare(texts: list[str], urls: list[str], rate: Rate) -> None:
    """One process calling trafilatura.extract with its defaults on in-memory HTML."""
    import trafilatura

    started, cpu = time.perf_counter(), time.process_time()
    for text, url in zip(texts, urls, strict=True):
        trafilatura.extract(text, url=url)
    rate.add(len(texts), time.perf_counter() - started, time.process_time() - cpu)


def bench_single(raws: list[RawPage], rate: Rate) -> None:
    """`extract_page` in this process on the in-memory pages (no fetch, no archive)."""
    from ingest.extract import extract_page

    started, cpu = time.perf_counter(), time.process_time()
    for raw in raws:
        extract_page(raw)
    rate.add(len(raws), time.perf_counter() - started, time.process_time() - cpu)


def bench_pipeline(urls: list[str], *, workers: int, archive_at: Path, server_pid: int, rate: Rate) -> int:
    """`ingest_refs` over `urls` into a fresh archive; CPU counts this process, the workers and the server."""
    from common.storage import resolve
    from ingest.archive import RawArchive
    from ingest.batch import ingest_refs
    from ingest.fetch import FetchConfig
    from ingest.pool import warm_up, worker_pids
    from ingest.records import PageRef
    from ingest.urls import source_for

    # Politeness delays off; two connections per host (the default), enough in all for every host.
    config = FetchConfig(
        user_agent="CopydeskBench/1.0",
        per_host_delay_s=0.0,
        per_host_concurrency=2,
        concurrency=2 * HOSTS,
        allow_loopback=True,
        timeout_s=60,
    )
    warm_up(workers)  # the pool lives as long as the process: started once, as in a long-running worker
    others = [server_pid, *worker_pids()]
    refs = [PageRef(url=u, source=source_for(u), discovered_from="bench") for u in urls]
    before = sum(_cpu_s(pid) for pid in others)
    started, cpu = time.perf_counter(), time.process_time()
    result = ingest_refs(
        refs,
        fetch_config=config,
        archive=RawArchive(resolve(str(archive_at))),
        run_id="bench",
        workers=workers,
    )
    wall = time.perf_counter() - started
    rate.add(len(urls), wall, time.process_time() - cpu + sum(_cpu_s(pid) for pid in others) - before)
    if result.errors:
        raise SystemExit(f"bench pages failed: {result.error_counts()}")
    return len(result.articles)


def bench_memory(pages_dir: Path, total: int) -> dict[str, float]:
    """Run `extract_page` `total` times in a fresh process; its RSS at warm level and the growth past it."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benches.ingest_speed",
            "--memory-run",
            str(pages_dir),
            "--memory-pages",
            str(total),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def memory_run(pages_dir: Path, total: int) -> None:
    """The memory check's own process: extract the pages over and over, sampling RSS after each pass."""
    from ingest.extract import extract_page

    raws = _raw_pages(
        {f"/{p.relative_to(pages_dir).as_posix()}": p.read_bytes() for p in pages_dir.rglob("*.html")}
    )
    samples: list[float] = []
    started = time.perf_counter()
    for k in range(total):
        extract_page(raws[k % len(raws)])
        if (k + 1) % len(raws) == 0:
            samples.append(_rss_mb())
    warm = samples[0]
    print(
        json.dumps(
            {
                "mem_pages": total,
                "mem_warm_mb": warm,
                "mem_peak_mb": max(samples),
                "mem_end_mb": samples[-1],
                "mem_growth_mb": max(samples) - warm,
                "mem_pages_per_s": total / (time.perf_counter() - started),
            }
        )
    )


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _raw_pages(pages: dict[str, bytes], port: int = 80) -> list[RawPage]:
    from datetime import UTC, datetime

    from ingest.records import PageRef, RawPage

    now = datetime.now(UTC)
    return [
        RawPage(
            ref=PageRef(url=url, source="bench", discovered_from="bench"),
            final_url=url,
            status=200,
            headers={"content-type": "text/html; charset=utf-8"},
            body=body,
            fetched_at=now,
        )
        for url, body in zip(_urls(pages, port), pages.values(), strict=True)
    ]


def render(f: dict[str, float], *, bare: Rate, single: Rate, ours: Rate, workers: int, commit: str) -> str:
    mem = (
        "not run"
        if "mem_growth_mb" not in f
        else f"{f['mem_growth_mb']:+.0f} MB (warm {f['mem_warm_mb']:.0f} MB, end {f['mem_end_mb']:.0f} MB)"
    )
    row = "| {} | {} | {} | {} | `" + commit + "` |"
    return "\n".join(
        [
            SECTION,
            "",
            f"{int(f['pages'])} generated article pages ({f['mean_kb']:.0f} KB of HTML on average, "
            f"`tests.corpora.news_pages`) on {HOSTS} loopback hosts, politeness delays off; "
            f"{os.cpu_count()} cores, "
            f"{time.strftime('%Y-%m-%d')}, load average {f['load_before']:.1f} before and "
            f"{f['load_after']:.1f} after (the machine is shared: other work on it takes cores from the "
            f"pool, not from the one-process baseline). Best of {int(f['repeats'])} interleaved runs. The "
            "baseline is one process calling `trafilatura.extract` (defaults) on the same HTML, already in "
            "memory. CPU per page counts every process involved (for Copydesk: fetching and archiving, the "
            "extraction workers, and the test server).",
            "",
            "| figure | Copydesk | baseline | ratio | commit |",
            "|---|---|---|---|---|",
            row.format(
                f"fetch + archive + extract, pages/s (`ingest_refs`, {workers} workers)",
                f"{ours.per_s:.0f}",
                f"{bare.per_s:.0f}",
                f"{ours.per_s / bare.per_s:.2f}x",
            ),
            row.format(
                "CPU per page, ms (fetch + archive + extract, all processes)",
                f"{ours.cpu_ms:.1f}",
                f"{bare.cpu_ms:.1f}",
                f"{ours.cpu_ms / bare.cpu_ms:.2f}x",
            ),
            row.format(
                "the same on two free cores, pages/s (2 cores / CPU per page; baseline: 1 core)",
                f"{2000 / ours.cpu_ms:.0f}",
                f"{1000 / bare.cpu_ms:.0f}",
                f"{2 * bare.cpu_ms / ours.cpu_ms:.2f}x",
            ),
            row.format(
                "`extract_page` alone, one process, pages/s",
                f"{single.per_s:.0f}",
                f"{bare.per_s:.0f}",
                f"{single.per_s / bare.per_s:.2f}x",
            ),
            row.format(
                f"RSS growth over {int(f.get('mem_pages', 0)):,} extractions, after the first pass",
                mem,
                "flat (< 100 MB)",
                "-",
            ),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA_ROOT)
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--memory-pages", type=int, default=20_000, help="0 to skip the memory check")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=BENCHMARKS_MD)
    ap.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--memory-run", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.memory_run:
        memory_run(args.memory_run, args.memory_pages)
        return 0
    import logging

    logging.basicConfig(level=logging.WARNING)
    pages = make_pages(args.pages, data=args.data)
    figures: dict[str, float] = {
        "pages": len(pages),
        "mean_kb": sum(map(len, pages.values())) / len(pages) / 1024,
        "repeats": args.repeats,
        "load_before": os.getloadavg()[0],
    }
    bare, single, ours = Rate(), Rate(), Rate()
    with tempfile.TemporaryDirectory(prefix="copydesk-bench-ingest-") as tmp:
        site = Path(tmp) / "site"
        for path, body in pages.items():
            (site / path[1:]).parent.mkdir(parents=True, exist_ok=True)
            (site / path[1:]).write_bytes(body)
        server = subprocess.Popen(
            [sys.executable, "-m", "benches.ingest_speed", "--serve", str(site)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            urls = _urls(pages, port)
            texts = [body.decode("utf-8") for body in pages.values()]
            raws = _raw_pages(pages, port)
            bench_bare(texts[:20], urls[:20], Rate())  # imports and first-call set-up, not timed
            bench_single(raws[:20], Rate())
            for k in range(args.repeats):
                bench_bare(texts, urls, bare)
                bench_single(raws, single)
                made = bench_pipeline(
                    urls,
                    workers=args.workers,
                    archive_at=Path(tmp) / f"run-{k}",
                    server_pid=server.pid,
                    rate=ours,
                )
                print(
                    f"run {k + 1}: bare {bare.per_s:.0f}/s, extract_page {single.per_s:.0f}/s, "
                    f"ingest_refs {ours.per_s:.0f}/s ({made} articles); best so far",
                    flush=True,
                )
        finally:
            server.communicate(input="")
        figures["load_after"] = os.getloadavg()[0]
        if args.memory_pages:
            figures |= bench_memory(site, args.memory_pages)
            print(f"memory: {figures}", flush=True)
    section = render(figures, bare=bare, single=single, ours=ours, workers=args.workers, commit=git_commit())
    print(section)
    replace_section(args.out, SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Export streams: memory stays flat as the archive grows, and how fast rows go out.

    .venv/bin/python benchmarks/bench_export.py [--rows 50000] [--database-url URL]

Fills a scratch database (SQLite in a temp dir by default; a PostgreSQL URL
works too, the table is emptied first) with ``--rows`` articles of ~2 KB text,
then, side by side in this one run:

* ``streamed``: ``iter_items`` (yield_per) into ``write_jsonl`` / ``write_csv``,
  which is what ``newsmon export`` does;
* ``loaded``: the naive way, every ORM row fetched with ``.all()`` first.

For each it prints wall time, rows/s and the peak Python heap (tracemalloc,
measured in a second pass so tracing does not distort the timings). The goal:
streamed peak memory independent of the row count, far below ``loaded``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select

from monitor.db import ArticleRow, open_database, session_factory
from monitor.export import write_csv, write_jsonl
from monitor.views import ItemFilter, iter_items

WORDS = [
    "Moscou",
    "Pyongyang",
    "traité",
    "sommet",
    "défense",
    "coopération",
    "missiles",
    "Kim",
    "Poutine",
    "accord",
]


class Sink(io.TextIOBase):
    """Counts characters instead of keeping them: measures the export, not the buffer."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, s: str) -> int:
        self.chars += len(s)
        return len(s)


def fill(url: str, rows: int) -> None:
    engine = open_database(url)
    rng = random.Random(1)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(delete(ArticleRow))
        batch = []
        for n in range(rows):
            seen = t0 + timedelta(minutes=n)
            batch.append(
                {
                    "canonical_url": f"https://site{n % 50}.example/a/{n}",
                    "url": f"https://site{n % 50}.example/a/{n}",
                    "title": " ".join(rng.choices(WORDS, k=8)),
                    "text": " ".join(rng.choices(WORDS, k=230)),
                    "description": "",
                    "language": "fr",
                    "author": "",
                    "site": f"site{n % 50}.example",
                    "published_at": seen,
                    "fetched_at": seen,
                    "first_seen_at": seen,
                    "status": "filed",
                    "story": "russia-dprk",
                    "relevance": 0.8,
                    "evidence": {"story": "russia-dprk", "matches": []},
                    "updated_at": seen,
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(ArticleRow), batch)
                batch = []
        if batch:
            conn.execute(insert(ArticleRow), batch)
    engine.dispose()


def streamed(url: str, fmt: str) -> int:
    engine = open_database(url, upgrade=False)
    with session_factory(engine)() as session:
        writer = write_jsonl if fmt == "jsonl" else write_csv
        count = writer(iter_items(session, ItemFilter()), Sink())
    engine.dispose()
    return count


def loaded(url: str, fmt: str) -> int:
    engine = open_database(url, upgrade=False)
    sink = Sink()
    with session_factory(engine)() as session:
        rows = session.scalars(select(ArticleRow).order_by(ArticleRow.id.desc())).all()
        for row in rows:
            sink.write(json.dumps({"url": row.url, "title": row.title, "text": row.text}) + "\n")
    engine.dispose()
    return len(rows)


def measure(fn: Callable[[str, str], int], url: str, fmt: str) -> tuple[int, float, float]:
    start = time.perf_counter()
    count = fn(url, fmt)
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    fn(url, fmt)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return count, elapsed, peak / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        sizes = sorted({max(1, args.rows // 5), args.rows})
        print(f"database: {url.split('://')[0]}; rows of ~2 KB text")
        print(f"{'rows':>8} {'variant':<16} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}")
        for size in sizes:
            fill(url, size)
            for name, fn, fmt in (
                ("streamed jsonl", streamed, "jsonl"),
                ("streamed csv", streamed, "csv"),
                ("loaded (.all())", loaded, "jsonl"),
            ):
                count, seconds, peak = measure(fn, url, fmt)
                assert count == size, (name, count, size)
                print(f"{size:>8} {name:<16} {seconds:>8.2f} {count / seconds:>9.0f} {peak:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

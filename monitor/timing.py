"""Where the time goes: seconds and counts per pipeline stage, per process.

Stages run on several threads (fetching) and in worker processes (extraction
reports its own timings back with each result), so this is a lock-protected
accumulator rather than a profiler. Benchmarks print it; it costs a
``perf_counter`` call and a dict update per stage per article.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_seconds: dict[str, float] = {}
_counts: dict[str, int] = {}


def add(stage: str, seconds: float, count: int = 1) -> None:
    with _lock:
        _seconds[stage] = _seconds.get(stage, 0.0) + seconds
        _counts[stage] = _counts.get(stage, 0) + count


@contextmanager
def timed(stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        add(stage, time.perf_counter() - start)


def snapshot() -> dict[str, tuple[float, int]]:
    """Stage -> (total seconds, calls), largest first."""
    with _lock:
        items = {k: (v, _counts.get(k, 0)) for k, v in _seconds.items()}
    return dict(sorted(items.items(), key=lambda kv: -kv[1][0]))


def reset() -> None:
    with _lock:
        _seconds.clear()
        _counts.clear()


def format_table(wall_seconds: float | None = None) -> str:
    lines = [f"{'stage':<28}{'seconds':>10}{'calls':>9}{'ms/call':>10}"]
    for stage, (secs, calls) in snapshot().items():
        per = 1000 * secs / calls if calls else 0.0
        lines.append(f"{stage:<28}{secs:>10.2f}{calls:>9}{per:>10.2f}")
    if wall_seconds:
        lines.append(f"{'(wall clock)':<28}{wall_seconds:>10.2f}")
    return "\n".join(lines)

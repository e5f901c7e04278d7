"""Where the time goes: seconds and counts per pipeline stage, per process.

Stages run on several threads (fetching) and in worker processes (extraction
reports its own timings back with each result), so this is a lock-protected
accumulator rather than a profiler. Benchmarks print it; it costs a
``perf_counter`` and a ``thread_time`` call and a dict update per stage per article.

Wall seconds of a stage on a thread include waiting (for the network, for the
GIL); its CPU seconds (``thread_time``) are what it took from the cores, which is
what competes with extraction. Worker stages come back from the workers as
wall seconds measured there, with no CPU column.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_seconds: dict[str, float] = {}
_counts: dict[str, int] = {}
_cpu: dict[str, float] = {}


def add(stage: str, seconds: float, count: int = 1, *, cpu: float | None = None) -> None:
    with _lock:
        _seconds[stage] = _seconds.get(stage, 0.0) + seconds
        _counts[stage] = _counts.get(stage, 0) + count
        if cpu is not None:
            _cpu[stage] = _cpu.get(stage, 0.0) + cpu


@contextmanager
def timed(stage: str) -> Iterator[None]:
    start, start_cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        add(stage, time.perf_counter() - start, cpu=time.thread_time() - start_cpu)


def cpu_seconds() -> dict[str, float]:
    """Stage -> CPU seconds of the threads that ran it (stages timed in this process)."""
    with _lock:
        return dict(_cpu)


def snapshot() -> dict[str, tuple[float, int]]:
    """Stage -> (total seconds, calls), largest first."""
    with _lock:
        items = {k: (v, _counts.get(k, 0)) for k, v in _seconds.items()}
    return dict(sorted(items.items(), key=lambda kv: -kv[1][0]))


def reset() -> None:
    with _lock:
        _seconds.clear()
        _counts.clear()
        _cpu.clear()


def format_table(wall_seconds: float | None = None) -> str:
    cpu = cpu_seconds()
    lines = [f"{'stage':<28}{'seconds':>10}{'calls':>9}{'ms/call':>10}{'CPU ms/call':>13}"]
    for stage, (secs, calls) in snapshot().items():
        per = 1000 * secs / calls if calls else 0.0
        cpu_per = f"{1000 * cpu[stage] / calls:>13.2f}" if stage in cpu and calls else ""
        lines.append(f"{stage:<28}{secs:>10.2f}{calls:>9}{per:>10.2f}{cpu_per}")
    if wall_seconds:
        lines.append(f"{'(wall clock)':<28}{wall_seconds:>10.2f}")
    return "\n".join(lines)

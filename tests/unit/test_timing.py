"""The stage accumulator benchmarks print: wall seconds, calls, and thread CPU."""

from __future__ import annotations

import threading
import time

from monitor import timing


def test_timed_stages_record_wall_and_cpu_apart() -> None:
    timing.reset()
    with timing.timed("waiting"):
        threading.Event().wait(0.05)  # off the CPU: wall time, next to no CPU
    with timing.timed("working"):
        deadline = time.thread_time() + 0.05
        while time.thread_time() < deadline:
            pass
    timing.add("worker: extract", 0.2, 2)  # reported by a worker: wall only
    wall, cpu = timing.snapshot(), timing.cpu_seconds()
    assert wall["waiting"][1] == 1 and wall["waiting"][0] >= 0.05
    assert cpu["waiting"] < 0.02
    assert cpu["working"] >= 0.05
    assert "worker: extract" not in cpu
    table = timing.format_table(1.0).splitlines()
    assert table[0].split()[-2:] == ["CPU", "ms/call"]
    extract = next(line for line in table if line.startswith("worker: extract"))
    assert extract.split()[-1] == "100.00"  # no CPU column for it
    timing.reset()
    assert timing.snapshot() == {} and timing.cpu_seconds() == {}

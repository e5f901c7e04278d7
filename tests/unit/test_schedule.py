"""Adaptive poll intervals and failure backoff (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import PollSettings
from monitor.feeds import schedule_failure, schedule_success

NOW = datetime(2024, 6, 19, 12, 0, tzinfo=UTC)
SETTINGS = PollSettings(
    min_interval_minutes=5,
    max_interval_minutes=240,
    backoff_step_minutes=30,
    max_backoff_minutes=180,
)


def success(current: float, new: int, total: int, configured: float = 30) -> float:
    interval, at = schedule_success(
        configured_minutes=configured,
        current_minutes=current,
        new_entries=new,
        total_entries=total,
        settings=SETTINGS,
        now=NOW,
    )
    assert at == NOW + timedelta(minutes=interval)
    return interval


def test_mostly_seen_polls_less_often() -> None:
    assert success(30, new=1, total=20) > 30
    assert success(30, new=0, total=20) > success(30, new=1, total=20)


def test_nothing_new_or_not_modified_stretches() -> None:
    assert success(30, new=0, total=0) == 45  # 304 / unchanged body
    assert success(30, new=0, total=1) == 45


def test_mostly_new_polls_more_often() -> None:
    assert success(30, new=15, total=20) < 30
    assert success(30, new=20, total=20) < success(30, new=15, total=20)


def test_balanced_overlap_keeps_the_interval() -> None:
    assert success(30, new=7, total=20) == 30


def test_bounds_are_respected() -> None:
    assert success(6, new=20, total=20) == SETTINGS.min_interval_minutes
    assert success(230, new=0, total=20) == SETTINGS.max_interval_minutes


def test_repeated_quiet_polls_converge_to_the_maximum_and_recover() -> None:
    interval = 30.0
    for _ in range(30):
        interval = success(interval, new=0, total=10)
    assert interval == SETTINGS.max_interval_minutes
    for _ in range(30):
        interval = success(interval, new=10, total=10)
    assert interval == SETTINGS.min_interval_minutes


def test_missing_current_interval_starts_from_configured() -> None:
    assert success(0, new=7, total=20, configured=60) == 60


def test_naive_now_is_taken_as_utc() -> None:
    _, at = schedule_success(
        configured_minutes=30,
        current_minutes=30,
        new_entries=7,
        total_entries=20,
        settings=SETTINGS,
        now=NOW.replace(tzinfo=None),
    )
    assert at == NOW + timedelta(minutes=30) and at.tzinfo is not None


def failure(n: int, retry_after: float | None = None) -> float:
    at = schedule_failure(
        consecutive_failures=n, retry_after_s=retry_after, settings=SETTINGS, now=NOW
    )
    return (at - NOW).total_seconds() / 60


def test_failures_back_off_linearly_then_cap() -> None:
    assert [failure(n) for n in range(1, 9)] == [30, 60, 90, 120, 150, 180, 180, 180]


def test_failures_never_disable_a_feed() -> None:
    assert failure(10_000) == SETTINGS.max_backoff_minutes
    assert failure(0) == 30  # defensive: treated as a first failure


@pytest.mark.parametrize(
    ("n", "retry_after_s", "expected"),
    [
        (1, 7200, 120),  # server asks for longer than our backoff: honoured
        (1, 60, 30),  # shorter than our backoff: backoff wins
        (1, 10**9, 180),  # absurd Retry-After is capped like the backoff
        (3, None, 90),
    ],
)
def test_retry_after(n: int, retry_after_s: float | None, expected: float) -> None:
    assert failure(n, retry_after_s) == expected

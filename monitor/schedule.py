"""When to poll a feed next: adaptive intervals after successes, backoff after failures.

Pure functions of what the last poll saw, so the policy can be tested without a
clock or a database. The interval follows how much each poll overlaps the one
before: a feed whose entries were all seen already is polled less often, one
whose entries were all new (we may have missed some in between) more often,
always within the operator's PollSettings bounds. Failures back off linearly up
to a cap and never switch a feed off for good: feeds come back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.config import PollSettings
from monitor.records import as_utc


def _interval_factor(new_entries: int, total_entries: int) -> float:
    """How much to stretch the interval given the share of entries that were new.

    All new suggests we may have missed items between polls: halve. Nothing new
    (including a 304 or an unchanged body): stretch by half. In between, nudge.
    """
    if total_entries <= 0 or new_entries <= 0:
        return 1.5
    share = min(1.0, new_entries / total_entries)
    if share >= 1.0 and total_entries > 1:
        return 0.5
    if share > 0.5:
        return 0.75
    if share < 0.2:
        return 1.25
    return 1.0


def schedule_success(
    *,
    configured_minutes: float,
    current_minutes: float,
    new_entries: int,
    total_entries: int,
    settings: PollSettings,
    now: datetime,
) -> tuple[float, datetime]:
    """The feed's next interval (minutes) and poll time after a successful poll."""
    base = current_minutes if current_minutes and current_minutes > 0 else configured_minutes
    interval = base * _interval_factor(new_entries, total_entries)
    low, high = settings.min_interval_minutes, settings.max_interval_minutes
    interval = min(max(interval, low), max(high, low))
    start = as_utc(now) or now
    return interval, start + timedelta(minutes=interval)


def schedule_failure(
    *,
    consecutive_failures: int,
    retry_after_s: float | None,
    settings: PollSettings,
    now: datetime,
) -> datetime:
    """When to try a failing feed again: linear backoff, capped, never given up.

    A server's Retry-After wins over a shorter backoff but is capped like it,
    so a hostile "come back next year" cannot switch a feed off for good.
    """
    steps = max(1, consecutive_failures)
    minutes = min(settings.backoff_step_minutes * steps, settings.max_backoff_minutes)
    if retry_after_s is not None and retry_after_s > 0:
        minutes = max(minutes, min(retry_after_s / 60.0, settings.max_backoff_minutes))
    minutes = max(minutes, settings.min_interval_minutes)
    start = as_utc(now) or now
    return start + timedelta(minutes=minutes)

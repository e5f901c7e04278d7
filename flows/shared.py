"""Pure helpers shared by the flows: retry policy, timeouts, naming, batching.

Kept free of Prefect imports at run time so they can be unit-tested as plain
functions and imported by the CLI without paying Prefect's import cost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import httpx
from sqlalchemy import exc as sa_exc

from monitor.config import Settings
from monitor.errors import DatabaseUnavailableError, TransientFetchError
from monitor.records import FeedEntry, Outcome, Status

if TYPE_CHECKING:
    from monitor.pipeline import FeedResult, FeedTarget

T = TypeVar("T")

#: Errors a second attempt can plausibly cure. The library returns feed and page
#: problems as data, so what reaches a task boundary is mostly the database going
#: away (restart, failover, SQLite busy past its timeout) or the network under it.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # connection pool exhausted
    TransientFetchError,
    httpx.TransportError,
    ConnectionError,
    TimeoutError,
)

#: Exceptions that look transient but mean a bug or bad data, or that the library has
#: already retried for its whole window (a database gone for good): never retried.
NOT_TRANSIENT: tuple[type[BaseException], ...] = (sa_exc.IntegrityError, DatabaseUnavailableError)


def is_transient(error: BaseException | None) -> bool:
    """Whether retrying the step that raised ``error`` may succeed."""
    if error is None or isinstance(error, NOT_TRANSIENT):
        return False
    if isinstance(error, TRANSIENT_ERRORS):
        return True
    # SQLAlchemy wraps driver errors; psycopg's own OperationalError has no SA parent.
    cause = error.__cause__
    return cause is not None and cause is not error and is_transient(cause)


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry only what :func:`is_transient` allows.

    Prefect calls it with the failed state; the exception is its result. A
    deterministic failure (a bug, bad data) fails at once instead of three times.
    """
    try:
        error = state.result(raise_on_failure=False)
    except Exception as exc:  # the result could not even be read: look at that error
        error = exc
    return isinstance(error, BaseException) and is_transient(error)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


_LIMIT_CHARS = re.compile(r"[^a-z0-9.-]+")


def host_limit_name(host: str) -> str:
    """The Prefect global-concurrency-limit name for one host (stable, URL-safe)."""
    return "newsmon-host-" + (_LIMIT_CHARS.sub("-", host.lower()).strip("-") or "unknown")


def short_url(url: str, width: int = 70) -> str:
    """``host/path`` without scheme or query, cut to ``width``: readable run names."""
    parts = urlsplit(url)
    text = (parts.netloc + parts.path).rstrip("/") or url
    return text if len(text) <= width else text[: width - 1] + "…"


def feeds_label(names: Sequence[str], width: int = 90) -> str:
    """``3 feeds: Le Monde, RFI, +1 more`` for a flow run name."""
    if not names:
        return "no feeds due"
    if len(names) == 1:
        return names[0][:width]
    head = f"{len(names)} feeds: "
    shown: list[str] = []
    for i, name in enumerate(names):
        rest = len(names) - i
        candidate = head + ", ".join([*shown, name])
        tail = f", +{rest - 1} more" if rest > 1 else ""
        if len(candidate + tail) > width and shown:
            return head + ", ".join(shown) + f", +{rest} more"
        shown.append(name)
    return head + ", ".join(shown)


def chunks(items: Sequence[T], size: int) -> list[tuple[T, ...]]:
    size = max(1, size)
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def feed_timeout_s(settings: Settings) -> float:
    """Budget of one feed task: one HTTP exchange (plus robots.txt) and the host wait.

    A backstop only: every HTTP call carries its own connect/read/total timeouts,
    and Prefect cannot interrupt blocking code anyway.
    """
    fetch = settings.fetch
    return 2 * fetch.total_timeout_s + fetch.host_interval_s + 30.0


def batch_timeout_s(settings: Settings, size: int) -> float:
    """Budget of one batch task, assuming the worst: every page of it on one host."""
    fetch = settings.fetch
    per_page = fetch.total_timeout_s + fetch.host_interval_s
    lanes = max(1, min(fetch.workers, fetch.host_concurrency))
    return 120.0 + per_page * max(1, size) / lanes


def error_text(error: BaseException) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
    return f"{name}: {first}"[:300] if first else name


def failed_feed(feed: FeedTarget, error: BaseException) -> FeedResult:
    """What a feed whose task crashed counts as: an ``error`` result, not a failed run."""
    from monitor.pipeline import FeedResult

    return FeedResult(
        feed_url=feed.url,
        feed_name=feed.name,
        outcome="error",
        reason=f"task_failed: {error_text(error)}",
    )


def failed_outcomes(entries: Sequence[FeedEntry], error: BaseException) -> list[Outcome]:
    """Outcomes for the entries of a batch whose task crashed, so the counts stay whole."""
    reason = f"task_failed: {error_text(error)}"
    return [
        Outcome(
            url=e.link, canonical_url=e.link, status=Status.FAILED, title=e.title, reason=reason
        )
        for e in entries
    ]

"""Frozen, typed records passed between pipeline stages.

One record per stage, all datetimes timezone-aware UTC: a stage takes records
and returns records, never dicts, sessions or clients. That keeps the stages
pure enough to test one at a time and to hand across process boundaries
(extraction runs in a process pool, Prefect tasks pickle their results).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, overload


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Naive datetimes (SQLite hands them back) are taken to be UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Status(StrEnum):
    """What became of an article; the values are public (CLI, export)."""

    FILED = "filed"  # on the story and new
    DUPLICATE = "duplicate"  # a repost of an earlier item (duplicate_of points to it)
    OFF_STORY = "off_story"  # new, but not about the tracked story
    REVIEW = "review"  # borderline relevance: a person decides
    FAILED = "failed"  # could not fetch or extract; retried later with backoff
    PENDING = "pending"  # seen in a feed, claimed by a run, not processed yet (crash-safe queue)


class Label(StrEnum):
    ON_STORY = "on_story"
    OFF_STORY = "off_story"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, as feedparser understood it, links resolved."""

    feed_url: str
    link: str
    guid: str = ""
    title: str = ""
    summary: str = ""
    published: datetime | None = None
    author: str = ""
    language: str | None = None


@dataclass(frozen=True, slots=True)
class FeedPoll:
    """The result of polling one feed: new validators and state, and its entries.

    ``outcome`` is ``ok`` (parsed), ``not_modified`` (304), ``unchanged`` (same
    body hash: not parsed again) or ``error``. Validators are set on every
    response so the next poll can be conditional.
    """

    feed_url: str
    outcome: str
    entries: tuple[FeedEntry, ...] = ()
    http_status: int | None = None
    final_url: str | None = None  # set when a 301/308 moved the feed for good
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    reason: str = ""  # why it failed, or a parse warning on a usable feed
    transient: bool = True
    retry_after_s: float | None = None
    title: str = ""
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """Bytes of a fetched page and what the server said about them."""

    url: str  # what we asked for
    final_url: str  # after redirects
    status_code: int
    body: bytes
    content_type: str = "text/html"
    encoding: str | None = None  # from the Content-Type header, if any
    fetched_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class Article:
    """Text and metadata extracted from a page (or the feed entry as a fallback)."""

    url: str
    canonical_url: str
    title: str
    text: str
    author: str = ""
    published_at: datetime | None = None
    site: str = ""
    language: str | None = None
    description: str = ""
    extraction_method: str = "trafilatura"
    fetched_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One term match behind a relevance verdict: what matched, where, how often."""

    term: str
    group: str  # e.g. side_a, side_b, topic, exclusion, pair
    where: str  # title, lead, sentence, paragraph, body
    count: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"term": self.term, "group": self.group, "where": self.where, "count": self.count}


@dataclass(frozen=True, slots=True)
class Judgement:
    """A relevance verdict with its score and the evidence behind it."""

    label: Label
    score: float
    story: str
    evidence: tuple[Evidence, ...] = ()
    reasons: tuple[str, ...] = ()

    def evidence_json(self) -> dict[str, Any]:
        return {
            "story": self.story,
            "label": self.label.value,
            "score": round(self.score, 3),
            "reasons": list(self.reasons),
            "matches": [e.as_dict() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class DedupDecision:
    """Whether an article repeats one already stored, and why.

    ``original_id`` is None when nothing matched; ``method`` names the rule that
    decided (``exact_url``, ``exact_hash``, ``near_body``, ``containment``,
    ``override``...), ``score`` and ``threshold`` the figures it compared.
    """

    original_id: int | None
    original_url: str | None = None
    method: str = "none"
    score: float | None = None
    threshold: float | None = None
    candidates: int = 0

    @property
    def is_duplicate(self) -> bool:
        return self.original_id is not None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the pipeline did with one URL: the row it wrote, in a form a report can show."""

    url: str
    canonical_url: str
    status: Status
    title: str = ""
    site: str = ""
    language: str | None = None
    score: float | None = None
    reason: str = ""
    duplicate_of: str | None = None
    article_id: int | None = None
    judgement: Judgement | None = None
    dedup: DedupDecision | None = None
    dry_run: bool = False


class Outcomes(Sequence[Outcome]):
    """A run's outcomes, in order: an immutable sequence that equals the same tuple.

    Not a tuple, on purpose. Prefect looks for futures in a flow's return value and
    descends into every tuple, list and dataclass it finds: the summary of a
    3,620-entry run cost it 0.4 s of one core after the last page, while the
    extraction workers idled (benchmarks/pipeline.py, traced). It does not descend
    into other types, and an outcome never holds a future.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Outcome] = ()) -> None:
        self._items: tuple[Outcome, ...] = tuple(items)

    @overload
    def __getitem__(self, index: int) -> Outcome: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Outcome, ...]: ...
    def __getitem__(self, index: int | slice) -> Outcome | tuple[Outcome, ...]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Outcomes):
            return self._items == other._items
        if isinstance(other, tuple):
            return self._items == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Outcomes({self._items!r})"

    def __reduce__(self) -> tuple[type[Outcomes], tuple[tuple[Outcome, ...]]]:
        return (Outcomes, (self._items,))

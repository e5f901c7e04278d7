"""Explanations and operator overrides of dedup decisions (``newsmon dedup``).

An operator must be able to see *why* an item was filed as a repost (the
original, the rule, the score against its threshold, every candidate the index
offered) and to overrule it. An override is stored as an ``OverrideRow`` keyed
by canonical URL, so it survives re-ingestion and :func:`find_duplicate`
applies it before any automatic rule; the article row is corrected at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.config import DedupSettings
from monitor.db import ArticleRow, OverrideRow
from monitor.dedup_index import (
    DUPLICATE_OF,
    NOT_DUPLICATE,
    OVERRIDE_KIND,
    article_by_any_url,
    latest_override,
    root_of,
    verify_candidates,
)
from monitor.errors import BadInputError
from monitor.records import Label, Status, as_utc, utcnow
from monitor.sketch import fingerprint


@dataclass(frozen=True, slots=True)
class CandidateView:
    """One candidate an explanation shows: who it is and how it compared."""

    article_id: int
    canonical_url: str
    title: str
    status: str
    first_seen_at: datetime | None
    shared_keys: int
    method: str
    score: float
    threshold: float
    similarity: float
    containment: float
    title_similarity: float
    lead_aligned: bool


@dataclass(frozen=True, slots=True)
class OverrideView:
    value: str
    target_url: str | None
    note: str
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class DedupExplanation:
    """Why an article is (not) a duplicate: the stored decision and what backs it."""

    article_id: int
    canonical_url: str
    title: str
    status: str
    first_seen_at: datetime | None
    original_id: int | None
    original_url: str | None
    original_title: str | None
    method: str | None
    score: float | None
    threshold: float | None
    override: OverrideView | None = None
    candidates: tuple[CandidateView, ...] = ()
    duplicates: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        def plain(obj: Any) -> Any:
            if isinstance(obj, datetime):
                return obj.isoformat()
            if isinstance(obj, float):
                return round(obj, 4)
            return obj

        data: dict[str, Any] = {
            name: plain(getattr(self, name))
            for name in self.__slots__
            if name not in ("override", "candidates", "duplicates")
        }
        data["override"] = (
            {k: plain(getattr(self.override, k)) for k in OverrideView.__slots__}
            if self.override
            else None
        )
        data["candidates"] = [
            {k: plain(getattr(c, k)) for k in CandidateView.__slots__} for c in self.candidates
        ]
        data["duplicates"] = list(self.duplicates)
        return data


def explain(
    session: Session, canonical_url: str, settings: DedupSettings | None = None
) -> DedupExplanation:
    """The stored decision, the override behind it, and the candidates re-checked now.

    Candidates are those the index offers among articles seen *before* this
    one, compared with the current settings: what the decision saw, give or
    take threshold changes since.
    """
    settings = settings or DedupSettings()
    row = article_by_any_url(session, canonical_url)
    if row is None:
        raise BadInputError(f"no article with URL {canonical_url}")
    original = session.get(ArticleRow, row.duplicate_of_id) if row.duplicate_of_id else None
    override = latest_override(session, row.canonical_url)
    seen = as_utc(row.first_seen_at) or utcnow()
    fp = fingerprint(row.title, row.text)
    checked = verify_candidates(
        session, fp, row.canonical_url, seen, settings, before=(seen, row.id)
    )
    candidates = tuple(
        CandidateView(
            article_id=c.row.id,
            canonical_url=c.row.canonical_url,
            title=c.row.title,
            status=c.row.status,
            first_seen_at=as_utc(c.row.first_seen_at),
            shared_keys=c.shared,
            method=c.comparison.method,
            score=c.comparison.score,
            threshold=c.comparison.threshold,
            similarity=c.comparison.similarity,
            containment=c.comparison.containment,
            title_similarity=c.comparison.title_similarity,
            lead_aligned=c.comparison.lead_aligned,
        )
        for c in checked
    )
    duplicates = tuple(
        session.scalars(
            select(ArticleRow.canonical_url)
            .where(ArticleRow.duplicate_of_id == row.id)
            .order_by(ArticleRow.first_seen_at, ArticleRow.id)
        )
    )
    return DedupExplanation(
        article_id=row.id,
        canonical_url=row.canonical_url,
        title=row.title,
        status=row.status,
        first_seen_at=as_utc(row.first_seen_at),
        original_id=row.duplicate_of_id,
        original_url=original.canonical_url if original else None,
        original_title=original.title if original else None,
        method=row.dup_method,
        score=row.dup_score,
        threshold=row.dup_threshold,
        override=OverrideView(
            override.value, override.target_url, override.note, as_utc(override.created_at)
        )
        if override
        else None,
        candidates=candidates,
        duplicates=duplicates,
    )


def _status_without_duplicate(row: ArticleRow) -> str:
    """What an article becomes once it is not a duplicate: its relevance verdict decides."""
    verdict = row.human_verdict or row.verdict
    if verdict == Label.ON_STORY.value:
        return Status.FILED.value
    if verdict == Label.REVIEW.value:
        return Status.REVIEW.value
    return Status.OFF_STORY.value


def _record_override(
    session: Session, row: ArticleRow, value: str, target_url: str | None, note: str
) -> None:
    session.add(
        OverrideRow(
            canonical_url=row.canonical_url,
            kind=OVERRIDE_KIND,
            value=value,
            target_url=target_url,
            note=note,
            created_at=utcnow(),
        )
    )


def mark_not_duplicate(session: Session, canonical_url: str, note: str = "") -> None:
    """Operator: this article is its own story. Kept as an override; the row is updated now."""
    row = article_by_any_url(session, canonical_url)
    if row is None:
        raise BadInputError(f"no article with URL {canonical_url}")
    _record_override(session, row, NOT_DUPLICATE, None, note)
    if row.status == Status.DUPLICATE.value or row.duplicate_of_id is not None:
        row.status = _status_without_duplicate(row)
    row.duplicate_of_id = None
    row.dup_method = "override"
    row.dup_score = None
    row.dup_threshold = None
    row.updated_at = utcnow()
    session.flush()


def mark_duplicate_of(
    session: Session, canonical_url: str, original_url: str, note: str = ""
) -> None:
    """Operator: this article repeats ``original_url`` (resolved to its root).

    Articles that pointed to this one are re-pointed to the root, so every
    duplicate keeps pointing at the first item of its story.
    """
    row = article_by_any_url(session, canonical_url)
    if row is None:
        raise BadInputError(f"no article with URL {canonical_url}")
    target = article_by_any_url(session, original_url)
    if target is None:
        raise BadInputError(f"no article with URL {original_url}")
    root = root_of(session, target)
    if root.id == row.id:
        raise BadInputError(
            f"{original_url} is {canonical_url} itself or one of its duplicates; "
            "mark it not-duplicate first"
        )
    _record_override(session, row, DUPLICATE_OF, root.canonical_url, note)
    now = utcnow()
    row.status = Status.DUPLICATE.value
    row.duplicate_of_id = root.id
    row.dup_method = "override"
    row.dup_score = None
    row.dup_threshold = None
    row.updated_at = now
    session.execute(
        update(ArticleRow)
        .where(ArticleRow.duplicate_of_id == row.id)
        .values(duplicate_of_id=root.id, updated_at=now)
    )
    session.flush()


__all__ = [
    "CandidateView",
    "DedupExplanation",
    "OverrideView",
    "explain",
    "mark_duplicate_of",
    "mark_not_duplicate",
]

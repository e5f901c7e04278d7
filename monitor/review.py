"""People's relevance decisions: the review queue and the overrides later runs obey.

Borderline items are stored with status ``review``; a person settles each one
with :func:`decide`. The decision is written twice on purpose: on the article
(status and ``human_verdict``, so lists and exports show it at once) and as an
``OverrideRow(kind="relevance")`` keyed by canonical URL, which the pipeline
reads through :func:`relevance_override` so a re-ingest of the same page never
undoes the person's choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from monitor.db import ArticleRow, OverrideRow
from monitor.errors import BadInputError
from monitor.records import Label, Status, as_utc, utcnow

RELEVANCE = "relevance"


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One article waiting for (or given) a person's relevance decision."""

    article_id: int
    url: str
    canonical_url: str
    title: str
    site: str
    language: str | None
    story: str | None
    score: float | None
    status: str
    human_verdict: str | None
    first_seen_at: datetime | None
    evidence: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        first_seen = self.first_seen_at.isoformat() if self.first_seen_at else None
        return {
            "id": self.article_id,
            "url": self.url,
            "canonical_url": self.canonical_url,
            "title": self.title,
            "site": self.site,
            "language": self.language,
            "story": self.story,
            "score": self.score,
            "status": self.status,
            "human_verdict": self.human_verdict,
            "first_seen_at": first_seen,
            "evidence": self.evidence,
        }


def _item(row: ArticleRow) -> ReviewItem:
    return ReviewItem(
        article_id=row.id,
        url=row.url,
        canonical_url=row.canonical_url,
        title=row.title,
        site=row.site,
        language=row.language,
        story=row.story,
        score=row.relevance,
        status=row.status,
        human_verdict=row.human_verdict,
        first_seen_at=as_utc(row.first_seen_at),
        evidence=row.evidence,
    )


def pending(session: Session, limit: int | None = None) -> list[ReviewItem]:
    """Items with status ``review``, oldest first (they have waited longest)."""
    query = (
        select(ArticleRow)
        .where(ArticleRow.status == Status.REVIEW.value)
        .order_by(ArticleRow.first_seen_at, ArticleRow.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_item(row) for row in session.scalars(query)]


def find_article(session: Session, url: str) -> ArticleRow | None:
    """By canonical URL first, then as fetched; people paste either."""
    candidates = {url.strip()}
    try:
        from monitor.urls import canonicalize

        candidates.add(canonicalize(url.strip()))
    except Exception:  # an unparsable URL simply has no canonical form
        pass
    query = select(ArticleRow).where(
        or_(ArticleRow.canonical_url.in_(candidates), ArticleRow.url.in_(candidates))
    )
    return session.scalars(query.order_by(ArticleRow.id)).first()


def decide(session: Session, url: str, label: Label, note: str = "") -> ReviewItem:
    """Record a person's verdict on one article and commit.

    On-story files the item unless it is a duplicate (a repost stays a
    repost); off-story sets ``off_story``. Deciding again replaces the earlier
    override rather than stacking contradictory ones.
    """
    if label is Label.REVIEW:
        raise BadInputError("a decision is on_story or off_story, not review")
    row = find_article(session, url)
    if row is None:
        raise BadInputError(f"no article with URL {url}")
    now = utcnow()
    is_duplicate = row.status == Status.DUPLICATE.value or row.duplicate_of_id is not None
    if label is Label.ON_STORY:
        row.status = Status.DUPLICATE.value if is_duplicate else Status.FILED.value
    else:
        row.status = Status.OFF_STORY.value
    row.human_verdict = label.value
    row.updated_at = now
    override = session.scalars(
        select(OverrideRow).where(
            OverrideRow.canonical_url == row.canonical_url, OverrideRow.kind == RELEVANCE
        )
    ).first()
    if override is None:
        override = OverrideRow(canonical_url=row.canonical_url, kind=RELEVANCE, created_at=now)
        session.add(override)
    override.value = label.value
    override.note = note
    override.created_at = now
    session.commit()
    return _item(row)


def relevance_override(session: Session, canonical_url: str) -> Label | None:
    """The person's verdict on this URL, if any: the pipeline uses it instead of judging."""
    value = session.scalars(
        select(OverrideRow.value)
        .where(OverrideRow.canonical_url == canonical_url, OverrideRow.kind == RELEVANCE)
        .order_by(OverrideRow.created_at.desc(), OverrideRow.id.desc())
    ).first()
    return Label(value) if value in (Label.ON_STORY.value, Label.OFF_STORY.value) else None

"""Rows for the outputs tests: a small story with reposts, inserted through the ORM.

Titles and texts are made up for the tests (no publisher's text). The set covers
what outputs must handle: several languages and sites, an original with two
copies, off-story/review/failed rows, non-ASCII text, an XML-illegal control
character and a ``javascript:`` URL that must never become a live link.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from monitor.db import ArticleRow, FeedRow

NOW = datetime(2024, 6, 20, 12, 0, tzinfo=UTC)


def add_article(session: Session, **fields: Any) -> ArticleRow:
    slug = fields.pop("slug")
    seen = fields.pop("first_seen_at", NOW)
    defaults: dict[str, Any] = {
        "canonical_url": f"https://{fields.get('site', 'example.org')}/{slug}",
        "url": f"https://{fields.get('site', 'example.org')}/{slug}?utm_source=rss",
        "title": slug.replace("-", " ").title(),
        "text": f"Body of {slug}. " * 20,
        "description": "",
        "language": "fr",
        "author": "",
        "site": "example.org",
        "published_at": seen - timedelta(hours=1),
        "fetched_at": seen,
        "first_seen_at": seen,
        "status": "filed",
        "story": "russia-dprk",
        "verdict": "on_story",
        "relevance": 0.9,
        "evidence": {"story": "russia-dprk", "label": "on_story", "score": 0.9, "matches": []},
        "extraction_method": "trafilatura",
        "updated_at": seen,
    }
    defaults.update(fields)
    row = ArticleRow(**defaults)
    session.add(row)
    session.flush()
    return row


def sample_story(session: Session) -> dict[str, ArticleRow]:
    """Eight rows over three days; returns them by a short name."""
    feed = FeedRow(url="https://lemonde.example/rss", name="Le Monde", created_at=NOW)
    session.add(feed)
    session.flush()
    d0 = NOW - timedelta(days=2)
    rows: dict[str, ArticleRow] = {}
    rows["summit"] = add_article(
        session,
        slug="sommet-moscou-pyongyang",
        title="Sommet Moscou–Pyongyang : Poutine et Kim signent un pacte",
        site="lemonde.example",
        author="Jeanne Dupont",
        description="Vladimir Poutine et Kim Jong-un ont signé un traité de défense mutuelle.",
        first_seen_at=d0,
        feed_id=feed.id,
        relevance=0.95,
    )
    rows["copy1"] = add_article(
        session,
        slug="copie-sommet",
        title="Poutine et Kim signent un pacte (reprise)",
        site="aggregator.example",
        status="duplicate",
        duplicate_of_id=rows["summit"].id,
        dup_method="near_body",
        dup_score=93.5,
        dup_threshold=85.0,
        first_seen_at=d0 + timedelta(minutes=42),
    )
    rows["copy2"] = add_article(
        session,
        slug="copie-sommet-2",
        title="Pacte Russie–Corée du Nord",
        site="blog.example",
        status="duplicate",
        duplicate_of_id=rows["summit"].id,
        dup_method="containment",
        dup_score=0.91,
        first_seen_at=d0 + timedelta(hours=5),
    )
    rows["ru"] = add_article(
        session,
        slug="putin-kim",
        title="Путин и Ким Чен Ын обсудили СОТРУДНИЧЕСТВО",
        text="Россия и КНДР подписали договор о всеобъемлющем стратегическом партнёрстве. " * 5,
        language="ru",
        site="tass.example",
        first_seen_at=d0 + timedelta(days=1),
        published_at=None,
        relevance=0.81,
    )
    rows["en"] = add_article(
        session,
        slug="troops-kursk",
        title="North Korean troops \x0b reported near Kursk",
        text="Pyongyang sent troops.\x0c Moscow denies <everything> & more. " * 10,
        language="en",
        site="www.nknews.example",
        url="javascript:alert(1)",
        canonical_url="https://www.nknews.example/troops-kursk",
        first_seen_at=d0 + timedelta(days=2),
        relevance=0.77,
    )
    rows["off"] = add_article(
        session,
        slug="football",
        title="Résultats du championnat",
        status="off_story",
        verdict="off_story",
        relevance=0.05,
        site="lemonde.example",
        first_seen_at=d0 + timedelta(days=1, hours=3),
    )
    rows["review"] = add_article(
        session,
        slug="borderline",
        title="Visite diplomatique en Asie",
        status="review",
        verdict="review",
        relevance=0.45,
        site="rfi.example",
        first_seen_at=d0 + timedelta(days=2, hours=1),
    )
    rows["failed"] = add_article(
        session,
        slug="broken",
        title="",
        text="",
        status="failed",
        verdict=None,
        relevance=None,
        evidence=None,
        extraction_method=None,
        fail_reason="http_404",
        site="rfi.example",
        first_seen_at=d0 + timedelta(hours=2),
    )
    session.commit()
    return rows

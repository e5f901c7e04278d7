"""The read-only queries behind every output, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from outputs_sample import NOW, sample_story
from sqlalchemy.orm import Session

from monitor.views import (
    ItemFilter,
    count_items,
    iter_items,
    latest_date,
    list_items,
    status_counts,
)


def test_duplicate_of_is_the_original_canonical_url(session: Session) -> None:
    rows = sample_story(session)
    items = {i.id: i for i in list_items(session, ItemFilter())}
    assert len(items) == 8
    assert items[rows["copy1"].id].duplicate_of == rows["summit"].canonical_url
    assert items[rows["copy2"].id].duplicate_of == rows["summit"].canonical_url
    assert items[rows["summit"].id].duplicate_of is None
    assert items[rows["copy1"].id].dup_score == pytest.approx(93.5)
    assert items[rows["summit"].id].evidence == rows["summit"].evidence


def test_newest_first_by_item_date_falling_back_to_first_seen(session: Session) -> None:
    rows = sample_story(session)
    items = list_items(session, ItemFilter(statuses=("filed",)))
    assert [i.id for i in items] == [rows["en"].id, rows["ru"].id, rows["summit"].id]
    # "ru" has no published_at: its first_seen_at places it.
    assert items[1].published_at is None and items[1].date == rows["ru"].first_seen_at
    assert all(i.date.tzinfo is not None for i in items)
    oldest = list_items(session, ItemFilter(statuses=("filed",)), newest_first=False)
    assert [i.id for i in oldest] == [i.id for i in reversed(items)]


def test_filters_status_language_site_since_limit(session: Session) -> None:
    rows = sample_story(session)

    def ids(**kw: object) -> set[int]:
        return {i.id for i in iter_items(session, ItemFilter(**kw))}  # type: ignore[arg-type]

    assert ids(statuses=("duplicate",)) == {rows["copy1"].id, rows["copy2"].id}
    assert ids(statuses=("review", "failed")) == {rows["review"].id, rows["failed"].id}
    assert ids(language="RU") == {rows["ru"].id}
    # site matches with or without www., case-insensitively
    assert ids(site="NKnews.example") == {rows["en"].id}
    assert ids(site="www.nknews.example") == {rows["en"].id}
    since = NOW - timedelta(hours=12)
    assert ids(since=since) == {rows["en"].id, rows["review"].id}
    assert ids(until=NOW - timedelta(days=2, minutes=-1)) == {rows["summit"].id}
    assert len(ids(limit=3)) == 3
    assert count_items(session, ItemFilter(limit=3)) == 3
    assert count_items(session, ItemFilter(statuses=("filed",))) == 3


def test_search_is_case_insensitive_and_unicode_aware(session: Session) -> None:
    rows = sample_story(session)

    def ids(text: str) -> set[int]:
        return {i.id for i in iter_items(session, ItemFilter(search=text))}

    assert ids("POUTINE") == {rows["summit"].id, rows["copy1"].id}
    assert ids("сотрудничество") == {rows["ru"].id}  # title is upper case Cyrillic
    assert ids("кндр") == {rows["ru"].id}  # in the text only
    assert ids("moscou–pyongyang") == {rows["summit"].id}
    # LIKE wildcards are literal
    assert ids("%") == set()
    assert ids("_") == set()
    assert ids("") == set()


def test_status_counts_and_latest_date(session: Session) -> None:
    rows = sample_story(session)
    counts = status_counts(session, ItemFilter(statuses=("filed",)))
    assert counts == {
        "filed": 3,
        "duplicate": 2,
        "off_story": 1,
        "review": 1,
        "failed": 1,
        "pending": 0,
    }
    assert latest_date(session, ItemFilter(statuses=("filed",))) == rows["en"].published_at
    assert latest_date(session, ItemFilter(statuses=("filed",), language="xx")) is None


def test_streams_in_batches_without_loading_everything(session: Session) -> None:
    from outputs_sample import add_article

    for n in range(120):
        add_article(session, slug=f"bulk-{n}", first_seen_at=NOW - timedelta(minutes=n))
    session.commit()
    stream = iter_items(session, ItemFilter(), batch=25)
    first = next(stream)
    assert first.canonical_url.endswith("bulk-0")
    assert sum(1 for _ in stream) == 119
    # nothing was loaded into the identity map
    assert len(session.identity_map) == 0

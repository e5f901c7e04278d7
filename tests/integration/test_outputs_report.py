"""build_report over real rows on SQLite and PostgreSQL: collapsing, windows, caps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from outputs_sample import NOW, add_article, sample_story
from sqlalchemy.orm import Session

from monitor.report import build_report, render_html, render_markdown


def test_counts_timeline_sources_and_reposts(session: Session) -> None:
    rows = sample_story(session)
    data = build_report(session, since=None)
    assert dict(data.status_counts) == {
        "filed": 3, "duplicate": 2, "off_story": 1, "review": 1, "failed": 1, "pending": 0,
    }  # fmt: skip
    assert data.stories == ("russia-dprk",)
    assert data.filed_total == 3 and data.reposts_total == 2
    # reposts collapsed: the timeline counts the three filed items only
    assert sum(d.total for d in data.days) == 3
    assert [d.total for d in data.days] == [1, 1, 1]
    assert set(data.series) == {"fr", "ru", "en"}
    # one group: the summit and its two copies, oldest copy first, with delays
    [group] = data.reposts
    assert group.original.id == rows["summit"].id
    assert [c.item.site for c in group.copies] == ["aggregator.example", "blog.example"]
    assert [c.delay for c in group.copies] == [timedelta(minutes=42), timedelta(hours=5)]
    assert group.copies[0].score == pytest.approx(93.5)
    assert group.copies[1].method == "containment"
    sources = {s.site: s for s in data.top_sources}
    assert sources["lemonde.example"].filed == 1 and sources["lemonde.example"].copied == 2
    assert sources["aggregator.example"].reposts == 1
    assert data.sources_total == 5
    assert [i.id for i in data.filed] == [rows["en"].id, rows["ru"].id, rows["summit"].id]


def test_since_window_and_copies_of_older_originals(session: Session) -> None:
    rows = sample_story(session)
    late = add_article(
        session, slug="late-copy", site="late.example", status="duplicate",
        duplicate_of_id=rows["summit"].id, dup_method="near_body", dup_score=90.0,
        first_seen_at=NOW + timedelta(hours=2),
    )  # fmt: skip
    session.commit()
    data = build_report(session, since=NOW - timedelta(hours=1), by="source")
    assert data.filed_total == 1 and data.filed[0].id == rows["en"].id
    assert data.series == ("www.nknews.example",)
    # the original is older than the window, the copy is in it: still listed
    [group] = data.reposts
    assert group.original.id == rows["summit"].id
    assert [c.item.id for c in group.copies] == [late.id]
    assert {s.site for s in data.top_sources} == {"www.nknews.example", "late.example",
                                                  "lemonde.example"}  # fmt: skip


def test_lists_are_capped_but_counts_are_not(session: Session) -> None:
    for n in range(30):
        add_article(session, slug=f"f{n}", site=f"s{n % 12}.example",
                    first_seen_at=NOW - timedelta(hours=n))  # fmt: skip
    session.commit()
    data = build_report(session, since=None, max_filed=10, max_sources=5)
    assert len(data.filed) == 10 and data.filed_total == 30
    assert len(data.top_sources) == 5 and data.sources_total == 12
    html = render_html(data)
    assert "Showing the newest 10 of 30." in html and "Top 5 of 12 sources." in html
    assert "… and 20 more." in render_markdown(data, max_rows=10)


def test_repost_groups_and_copies_are_capped_but_counted(session: Session) -> None:
    """A poll's report after thousands of copies reads only the groups it shows."""
    originals = [
        add_article(
            session,
            slug=f"o{g}",
            site=f"orig{g}.example",
            first_seen_at=NOW - timedelta(days=2, hours=g),
        )
        for g in range(4)
    ]
    session.commit()
    for g, orig in enumerate(originals):
        for c in range(3 + 4 * g):  # group sizes 3, 7, 11, 15
            add_article(
                session, slug=f"o{g}c{c}", site=f"copy{c % 5}.example", status="duplicate",
                duplicate_of_id=orig.id, dup_method="near_body", dup_score=90.0,
                first_seen_at=NOW + timedelta(minutes=c),
            )  # fmt: skip
    session.commit()
    data = build_report(session, since=NOW - timedelta(hours=1), max_reposts=2, max_copies=4)
    assert data.reposts_total == 3 + 7 + 11 + 15
    assert [g.original.id for g in data.reposts] == [originals[3].id, originals[2].id]
    assert [g.count for g in data.reposts] == [15, 11]
    for group in data.reposts:
        assert [c.item.first_seen_at for c in group.copies] == [
            NOW + timedelta(minutes=c) for c in range(4)
        ]
    sources = {s.site: s for s in data.top_sources}
    assert sources["orig3.example"].copied == 15 and sources["orig0.example"].copied == 3
    assert sum(s.reposts for s in sources.values()) == 36
    html = render_html(data)
    assert "15 copies (first 4 shown)" in html and "Showing 8 of 36 reposts." in html
    assert "… 11 more" in render_markdown(data)


def test_empty_database_renders(session: Session) -> None:
    data = build_report(session, since=None)
    assert data.filed_total == 0 and data.days == ()
    html = render_html(data)
    assert "No filed items in this period" in html
    assert "No filed items in this period." in render_markdown(data)

"""Dedup through the database, on SQLite and PostgreSQL (db_url fixture)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor import dedup
from monitor.config import DedupSettings
from monitor.db import ArticleRow, DedupKeyRow, OverrideRow
from monitor.errors import BadInputError
from monitor.records import Label, Status
from tests.dedup_replay import (
    START,
    Item,
    arrival_order,
    clusters,
    decisions_table,
    file_item,
    load_items,
    replay,
)
from tests.regen_golden_dedup import GOLDEN

ITEMS = load_items()
BY_ID = {i.id: i for i in ITEMS}
SETTINGS = DedupSettings()


@pytest.mark.parametrize("order", ["originals_first", "variants_first"])
def test_fixture_replay_catches_every_repost_and_merges_nothing(
    session: Session, order: str
) -> None:
    filed = replay(session, arrival_order(ITEMS, order))
    roots = clusters(filed)
    missed = [i.id for i in ITEMS if i.is_variant and roots[i.id] != roots[i.group]]
    assert missed == []
    by_root: dict[str, set[str]] = {}
    for item in ITEMS:
        by_root.setdefault(roots[item.id], set()).add(item.group)
    assert [groups for groups in by_root.values() if len(groups) > 1] == []
    seeds = {roots[f"seed00{n}"] for n in range(5)}
    assert len(seeds) == 5  # the five seeds stay five distinct items
    # The first item of each story stays filed; every later copy points to it.
    first_of_group: dict[str, str] = {}
    for f in filed:
        first_of_group.setdefault(f.item.group, f.item.id)
        assert (f.decision.original_id is None) == (first_of_group[f.item.group] == f.item.id)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))[order]
    assert decisions_table(filed) == golden, "run python -m tests.regen_golden_dedup and review"


def test_repost_of_a_repost_points_to_the_root(session: Session) -> None:
    teaser = file_item(session, BY_ID["seed003__teaser"], START, SETTINGS)
    full = file_item(session, BY_ID["seed003"], START + timedelta(hours=1), SETTINGS)
    typos = file_item(session, BY_ID["seed003__typos"], START + timedelta(hours=2), SETTINGS)
    assert teaser.decision.original_id is None
    assert full.decision.method == "containment"
    assert full.decision.original_id == teaser.article_id
    assert typos.decision.original_id == teaser.article_id  # the root, not the full article
    assert typos.decision.original_url == BY_ID["seed003__teaser"].url


def test_window_limits_exact_and_near_matches(session: Session) -> None:
    file_item(session, BY_ID["seed002"], START, SETTINGS)
    late = START + timedelta(days=SETTINGS.window_days + 1)
    exact = file_item(session, BY_ID["seed002__title_change"], late, SETTINGS)
    near = file_item(session, BY_ID["seed002__typos"], late + timedelta(minutes=1), SETTINGS)
    assert exact.decision.original_id is None  # same text, but outside the window
    assert near.decision.original_id == exact.article_id  # the copy inside the window


def test_failed_articles_are_never_originals(session: Session) -> None:
    first = file_item(session, BY_ID["seed004"], START, SETTINGS)
    session.get_one(ArticleRow, first.article_id).status = Status.FAILED.value
    session.flush()
    again = file_item(session, BY_ID["seed004__typos"], START + timedelta(hours=1), SETTINGS)
    assert again.decision.original_id is None


def test_exact_hash_decision_records_method_score_threshold(session: Session) -> None:
    first = file_item(session, BY_ID["seed000"], START, SETTINGS)
    copy = file_item(session, BY_ID["seed000__title_affix"], START + timedelta(hours=1), SETTINGS)
    assert copy.decision.original_id == first.article_id
    assert (copy.decision.method, copy.decision.score, copy.decision.threshold) == (
        "exact_hash",
        100.0,
        100.0,
    )
    row = session.get_one(ArticleRow, copy.article_id)
    assert (row.status, row.duplicate_of_id, row.dup_method) == (
        "duplicate",
        first.article_id,
        "exact_hash",
    )


def test_index_article_replaces_keys_and_bounds_their_number(session: Session) -> None:
    filed = file_item(session, BY_ID["seed001"], START, SETTINGS)
    fp = dedup.fingerprint(BY_ID["seed001"].title, BY_ID["seed001"].body)
    dedup.index_article(session, filed.article_id, fp, START + timedelta(days=3))
    rows = session.execute(
        select(DedupKeyRow.day, func.count()).where(DedupKeyRow.article_id == filed.article_id)
        .group_by(DedupKeyRow.day)
    ).all()  # fmt: skip
    assert len(rows) == 1 and rows[0][1] == len(set(fp.keys)) <= 40


def test_explain_lists_decision_and_candidates(session: Session) -> None:
    original = file_item(session, BY_ID["seed001"], START, SETTINGS)
    file_item(session, BY_ID["seed002"], START + timedelta(minutes=1), SETTINGS)
    copy = file_item(session, BY_ID["seed001__boilerplate"], START + timedelta(hours=1), SETTINGS)
    ex = dedup.explain(session, copy.item.url, SETTINGS)
    assert (ex.status, ex.original_id, ex.method) == ("duplicate", original.article_id, "near_body")
    assert ex.score is not None and ex.threshold is not None and ex.score >= ex.threshold
    assert [c.canonical_url for c in ex.candidates] == [BY_ID["seed001"].url]
    assert ex.candidates[0].method == "near_body"
    assert dedup.explain(session, BY_ID["seed001"].url).duplicates == (copy.item.url,)
    as_dict = ex.as_dict()
    assert as_dict["original_url"] == BY_ID["seed001"].url and as_dict["override"] is None
    with pytest.raises(BadInputError):
        dedup.explain(session, "https://nowhere.example/")


def _status(session: Session, item: Item) -> tuple[str, int | None, str | None]:
    row = session.scalars(select(ArticleRow).where(ArticleRow.canonical_url == item.url)).one()
    return row.status, row.duplicate_of_id, row.dup_method


@pytest.mark.parametrize(("verdict", "status"), [("on_story", "filed"), ("review", "review"),
                                                 ("off_story", "off_story")])  # fmt: skip
def test_mark_not_duplicate_is_kept_and_respected(
    session: Session, verdict: str, status: str
) -> None:
    file_item(session, BY_ID["seed000"], START, SETTINGS)
    copy = file_item(session, BY_ID["seed000__typos"], START + timedelta(hours=1), SETTINGS)
    session.get_one(ArticleRow, copy.article_id).verdict = verdict
    dedup.mark_not_duplicate(session, copy.item.url, note="different edition")
    assert _status(session, copy.item) == (status, None, "override")
    decision = dedup.find_duplicate(
        session, canonical_url=copy.item.url, title=copy.item.title, text=copy.item.body,
        fp=dedup.fingerprint(copy.item.title, copy.item.body), seen_at=START + timedelta(days=1),
        settings=SETTINGS,
    )  # fmt: skip
    assert not decision.is_duplicate and decision.method == "override"
    override = dedup.explain(session, copy.item.url).override
    assert override is not None and override.note == "different edition"


def test_mark_duplicate_of_repoints_children_and_is_respected(session: Session) -> None:
    a = file_item(session, BY_ID["seed000"], START, SETTINGS)
    b = file_item(session, BY_ID["seed001"], START + timedelta(minutes=1), SETTINGS)
    b_copy = file_item(session, BY_ID["seed001__typos"], START + timedelta(hours=1), SETTINGS)
    assert b_copy.decision.original_id == b.article_id
    dedup.mark_duplicate_of(session, b.item.url, a.item.url, note="same dispatch")
    assert _status(session, b.item) == ("duplicate", a.article_id, "override")
    assert _status(session, b_copy.item)[1] == a.article_id  # re-pointed to the root
    # A later run of the same URL keeps the operator's decision.
    decision = dedup.find_duplicate(
        session, canonical_url=b.item.url, title=b.item.title, text=b.item.body,
        fp=dedup.fingerprint(b.item.title, b.item.body), seen_at=START + timedelta(days=1),
        settings=SETTINGS,
    )  # fmt: skip
    assert (decision.original_id, decision.method) == (a.article_id, "override")
    assert session.scalar(select(func.count()).select_from(OverrideRow)) == 1
    with pytest.raises(BadInputError):
        dedup.mark_duplicate_of(session, a.item.url, b_copy.item.url)  # would be a cycle
    with pytest.raises(BadInputError):
        dedup.mark_duplicate_of(session, a.item.url, "https://nowhere.example/")
    with pytest.raises(BadInputError):
        dedup.mark_not_duplicate(session, "https://nowhere.example/")
    # The latest override wins.
    dedup.mark_not_duplicate(session, b.item.url)
    assert _status(session, b.item) == ("filed", None, "override")
    assert session.get_one(ArticleRow, b.article_id).verdict == Label.ON_STORY.value

"""A run's summary: what it keeps of each feed and outcome, and what it lets go."""

from __future__ import annotations

import pickle
from datetime import timedelta

from monitor.pipeline import FeedResult, summarize
from monitor.records import FeedEntry, Outcome, Outcomes, Status, utcnow


def _outcome(i: int, status: Status = Status.DUPLICATE) -> Outcome:
    return Outcome(
        url=f"https://a.example/{i}", canonical_url=f"https://a.example/{i}", status=status
    )


def _entry(i: int) -> FeedEntry:
    return FeedEntry(feed_url="https://a.example/rss", link=f"https://a.example/{i}", title=f"t{i}")


def test_outcomes_behave_like_the_tuple_they_hold() -> None:
    items = tuple(_outcome(i) for i in range(5))
    outcomes = Outcomes(items)
    assert outcomes == items and items == outcomes
    assert outcomes == Outcomes(list(items)) and hash(outcomes) == hash(Outcomes(items))
    assert len(outcomes) == 5 and list(outcomes) == list(items)
    assert outcomes[0] is items[0] and outcomes[-1] is items[-1]
    assert outcomes[1:3] == items[1:3] and isinstance(outcomes[1:3], tuple)
    assert outcomes.index(items[2]) == 2 and items[3] in outcomes
    assert Outcomes() == () and not Outcomes()
    assert outcomes != items[:4] and outcomes != list(items)
    assert pickle.loads(pickle.dumps(outcomes)) == outcomes


def test_a_feed_result_counts_its_new_entries_and_can_let_them_go() -> None:
    entries = tuple(_entry(i) for i in range(3))
    result = FeedResult("https://a.example/rss", "A", "ok", 200, "", 10, entries)
    assert result.new_count == 3
    handed = result.handed_over()
    assert handed.new_entries == () and handed.new_count == 3 and handed.total_entries == 10
    assert handed.handed_over() is handed
    assert FeedResult("u", "n", "error").new_count == 0


def test_the_summary_keeps_counts_not_entries() -> None:
    entries = tuple(_entry(i) for i in range(4))
    feeds = [FeedResult("https://a.example/rss", "A", "ok", 200, "", 4, entries)]
    outcomes = [_outcome(0, Status.FILED)] + [_outcome(i) for i in range(1, 4)]
    summary = summarize(feeds, outcomes, utcnow() - timedelta(seconds=1))
    assert summary.feeds[0].new_entries == () and summary.feeds[0].new_count == 4
    assert isinstance(summary.outcomes, Outcomes) and summary.outcomes == tuple(outcomes)
    assert summary.count(Status.DUPLICATE) == 3 and len(summary.filed) == 1


def test_a_summary_built_from_a_tuple_holds_outcomes() -> None:
    from monitor.pipeline import PollSummary

    items = (_outcome(1),)
    summary = PollSummary(started_at=utcnow(), finished_at=utcnow(), outcomes=items)  # type: ignore[arg-type]
    assert isinstance(summary.outcomes, Outcomes) and summary.outcomes == items

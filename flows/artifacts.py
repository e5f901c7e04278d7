"""Dashboard artifacts: what each run leaves behind in the Prefect UI.

Artifact keys are fixed, so the Artifacts page keeps one history per kind
(latest filed items, latest counts...) while each flow run page shows its own
versions. Publishing never fails a run: the work is done and stored by then,
and a dashboard hiccup must not turn a good poll red.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.present import count_rows, feed_rows, filed_rows, poll_markdown, verdict_markdown
from monitor.records import Outcome

if TYPE_CHECKING:
    from monitor.pipeline import PollSummary

log = logging.getLogger(__name__)

KEY_FILED = "newsmon-filed"
KEY_COUNTS = "newsmon-counts"
KEY_FEEDS = "newsmon-feeds"
KEY_REPORT = "newsmon-report"
KEY_VERDICT = "newsmon-verdict"


def publish_poll(summary: PollSummary, run_name: str, report: str | None = None) -> list[str]:
    """Tables of filed items, counts by outcome and per-feed status, plus the report.

    Returns the keys published (the ones that failed are logged and skipped).
    """
    filed = filed_rows(summary.outcomes)
    jobs: list[tuple[str, Callable[[], object]]] = [
        (
            KEY_FILED,
            lambda: create_table_artifact(
                filed or [{"title": "(nothing new filed)", "site": "", "link": "", "score": None}],
                key=KEY_FILED,
                description=f"{len(filed)} item(s) filed by {run_name}",
            ),
        ),
        (
            KEY_COUNTS,
            lambda: create_table_artifact(
                count_rows(summary), key=KEY_COUNTS, description=f"Counts by outcome: {run_name}"
            ),
        ),
        (
            KEY_FEEDS,
            lambda: create_table_artifact(
                feed_rows(summary.feeds) or [{"feed": "(no feed due)"}],
                key=KEY_FEEDS,
                description=f"Per-feed status: {run_name}",
            ),
        ),
        (
            KEY_REPORT,
            lambda: create_markdown_artifact(
                poll_markdown(summary, run_name, report),
                key=KEY_REPORT,
                description=f"Summary and story report: {run_name}",
            ),
        ),
    ]
    done = []
    for key, publish in jobs:
        try:
            publish()
            done.append(key)
        except Exception:
            log.warning("could not publish artifact %s", key, exc_info=True)
    return done


def publish_verdict(outcome: Outcome, run_name: str) -> bool:
    """The ``ingest-url`` verdict and its evidence as one Markdown artifact."""
    try:
        create_markdown_artifact(
            verdict_markdown(outcome), key=KEY_VERDICT, description=f"Verdict: {run_name}"
        )
    except Exception:
        log.warning("could not publish artifact %s", KEY_VERDICT, exc_info=True)
        return False
    return True

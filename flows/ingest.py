"""The ``ingest-url`` flow: one URL through the whole pipeline, by hand.

Run from the dashboard's form, ``prefect deployment run 'ingest-url/newsmon'
--param url=...`` or ``newsmon ingest URL``. The verdict (filed, duplicate of X,
off-story, review, failed) and the evidence behind it are the run's Markdown
artifact and its return value. A page that cannot be fetched is a *completed*
run whose verdict is ``failed: <reason>``: the flow did its job, the page did
not cooperate; only an error in newsmon itself (or a database that stays down
through the retries) fails the run.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run as current_run

from flows.artifacts import publish_verdict
from flows.poll import TASK_OPTIONS, notify
from flows.present import verdict
from flows.shared import batch_timeout_s, short_url
from monitor import pipeline
from monitor.config import Settings, load_settings
from monitor.records import Outcome


def _ingest_run_name() -> str:
    params = current_run.parameters
    name = "ingest " + short_url(str(params.get("url", "?")), 80)
    if params.get("dry_run"):
        name += " (dry run)"
    return name


@task(
    name="ingest-page",
    timeout_seconds=300,
    **TASK_OPTIONS,
)
def ingest_page(settings: Settings, url: str, dry_run: bool, force: bool) -> Outcome:
    return pipeline.ingest_url(settings, url, dry_run=dry_run, force=force)


@flow(name="ingest-url", flow_run_name=_ingest_run_name, log_prints=True)
def ingest_url(url: str, dry_run: bool = False, force: bool = False) -> Outcome:
    """Fetch one URL, extract it, judge it against the story, check it for duplicates and
    file it. `dry_run`: decide but write nothing. `force`: process it again even if the
    URL is already stored."""
    logger = get_run_logger()
    settings = load_settings()
    timeout = batch_timeout_s(settings, 1)
    outcome = ingest_page.with_options(timeout_seconds=timeout)(settings, url, dry_run, force)
    run_name = _ingest_run_name()
    publish_verdict(outcome, run_name)
    if not dry_run:
        notify(settings, [outcome], run_name)
    score = "" if outcome.score is None else f" (score {outcome.score:.2f})"
    logger.info("%s: %s%s", url, verdict(outcome), score)
    return outcome

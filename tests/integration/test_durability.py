"""No loss, no double filing: killed runs, concurrent runs, a database that goes away.

Runs are real processes on a local site (``tests/sitefarm.py``), on SQLite and on
PostgreSQL. A run is killed with SIGKILL (its whole process group, extraction
workers included) at a point the test controls: the site holds page requests
behind a gate, so the run is provably mid-work when it dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine, make_url

from monitor import pipeline, store
from monitor.config import Settings, load_settings
from monitor.db import ArticleRow, DedupKeyRow, open_database, session_factory
from monitor.errors import DatabaseUnavailableError
from monitor.records import Status, utcnow
from tests.conftest import FIXTURES, PG_URL, require_pg
from tests.sitefarm import SiteFarm, serve_farm
from tests.tcpproxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
STORIES = ",".join(str(p) for p in sorted((ROOT / "config" / "stories").glob("*.yaml")))
RUNNER = (
    "import sys\n"
    "from monitor import pipeline\n"
    "from monitor.config import load_settings\n"
    "summary = pipeline.run_poll(load_settings(sys.argv[1]))\n"
    "print(summary.as_text())\n"
)


def write_config(
    tmp_path: Path, feeds: list[str], *, claim_minutes: float, name: str = "c"
) -> Path:
    cfg = tmp_path / f"{name}.yaml"
    feed_lines = "".join(f"  - {{url: '{url}', name: f{i}}}\n" for i, url in enumerate(feeds))
    cfg.write_text(
        "fetch: {host_interval_s: 0, host_concurrency: 8, workers: 8, total_timeout_s: 20}\n"
        f"poll: {{claim_minutes: {claim_minutes}, max_entries_per_feed: 1000}}\n"
        "extraction: {extract_processes: 2}\n"
        f"feeds:\n{feed_lines}",
        encoding="utf-8",
    )
    return cfg


def run_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MONITOR_DATABASE_URL=db_url,
        MONITOR_STORIES=STORIES,
        MONITOR_ALLOW_PRIVATE_NETWORKS="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def settings_for(cfg: Path, db_url: str) -> Settings:
    return load_settings(cfg, env=run_env(db_url))


def start_run(cfg: Path, db_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(cfg)],
        env=run_env(db_url),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the kill takes its workers too
    )


def kill_group(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)  # polling the database with a deadline
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(ArticleRow.status, func.count()).group_by(ArticleRow.status)
        ).all()
    return {str(status): int(n) for status, n in rows}


def done(engine: Engine) -> int:
    c = counts(engine)
    return sum(c.get(s, 0) for s in store.DONE)


def assert_each_once(engine: Engine, urls: list[str]) -> None:
    """Every URL has exactly one row, dealt with, and no filed article is half-written."""
    with session_factory(engine)() as s:
        rows = list(s.scalars(select(ArticleRow)))
        by_url: dict[str, int] = {}
        for row in rows:
            by_url[row.url] = by_url.get(row.url, 0) + 1
        assert sorted(by_url) == sorted(urls)
        assert set(by_url.values()) == {1}
        states = {r.status for r in rows}
        assert states <= store.DONE, states
        keyed = set(s.scalars(select(DedupKeyRow.article_id).distinct()))
        unkeyed = [r.url for r in rows if r.id not in keyed]
        assert not unkeyed, f"filed without their dedup keys: {unkeyed[:3]}"
        assert all(r.text and r.fetched_at for r in rows)


@pytest.fixture
def farm() -> Iterator[SiteFarm]:
    with serve_farm() as f:
        yield f


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_database(db_url)
    yield eng
    eng.dispose()
    pipeline.close_resources()


# --- kill and restart ------------------------------------------------------------------


@pytest.mark.parametrize("kill_at", ["after_poll", "mid_filing"])
def test_killed_run_then_restart_files_every_entry_exactly_once(
    kill_at: str, farm: SiteFarm, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    urls = farm.add_generated("big", 500)
    if kill_at == "after_poll":
        farm.gated = lambda slug: True  # no page is answered: the run dies with all 500 queued
    else:
        farm.gated = lambda slug: int(slug.rsplit("-", 1)[1]) >= 250
    cfg = write_config(tmp_path, [farm.feed_url("big")], claim_minutes=1e-6)

    run = start_run(cfg, db_url)
    try:
        if kill_at == "after_poll":
            wait_for(lambda: counts(engine).get("pending", 0) == 500, 60, "500 queued entries")
        else:
            wait_for(lambda: done(engine) >= 100, 90, "100 entries filed")
    finally:
        kill_group(run)
    before = counts(engine)
    assert before.get("pending", 0) > 0, before  # the kill left work behind
    with session_factory(engine)() as s:
        filed_before = {
            r.id: r.updated_at
            for r in s.scalars(select(ArticleRow).where(ArticleRow.status.in_(store.DONE)))
        }

    farm.gate.set()
    summary = pipeline.run_poll(settings_for(cfg, db_url))
    assert summary.count(Status.FAILED) == 0, summary.as_text()

    assert_each_once(engine, urls)
    with session_factory(engine)() as s:
        for row_id, updated in filed_before.items():
            row = s.get(ArticleRow, row_id)
            assert row is not None and row.updated_at == updated  # not filed a second time
    assert len(filed_before) + len(summary.outcomes) == 500
    assert max(farm.hits[f"/p/big-0-{i}.html"] for i in range(500)) <= 2


# --- concurrent runs -------------------------------------------------------------------


def seed_paragraphs() -> list[list[str]]:
    out = []
    for path in sorted((FIXTURES / "seeds").glob("*.txt")):
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        out.append([ln for ln in lines if len(ln) > 40])
    return out


def test_four_concurrent_runs_file_nothing_twice(
    farm: SiteFarm, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    urls: list[str] = []
    for name in ("a", "b", "c"):
        urls += farm.add_generated(name, 30, seed=ord(name))
    shared = farm.add_generated("shared", 10, seed=99)  # listed in every feed
    urls += shared
    for name in ("a", "b", "c"):
        farm.feeds[name] += farm.feeds["shared"]
    groups: list[list[str]] = []
    for i, paragraphs in enumerate(seed_paragraphs()):
        group = []
        for name in ("a", "b", "c"):  # the same article reposted on three URLs
            slug = f"seed{i}-{name}"
            group.append(farm.add_page(slug, f"Russie et Corée du Nord, article {i}", paragraphs))
            farm.list_in(name, slug, f"Russie et Corée du Nord, article {i}")
        groups.append(group)
        urls += group
    feeds = [farm.feed_url(n) for n in ("a", "b", "c")]
    cfg = write_config(tmp_path, feeds, claim_minutes=15)
    pipeline.prepare(settings_for(cfg, db_url))  # one schema migration, not four racing

    runs = [start_run(cfg, db_url) for _ in range(4)]
    outputs = [run.communicate(timeout=240)[0] for run in runs]
    for run, out in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out

    assert_each_once(engine, urls)
    with session_factory(engine)() as s:
        for group in groups:
            rows = list(s.scalars(select(ArticleRow).where(ArticleRow.url.in_(group))))
            originals = [r for r in rows if r.status != Status.DUPLICATE.value]
            assert len(originals) == 1, [(r.url, r.status) for r in rows]
            assert all(r.duplicate_of_id == originals[0].id for r in rows if r is not originals[0])
    page_hits = [n for path, n in farm.hits.items() if path.startswith("/p/")]
    assert len(page_hits) == len(urls) and set(page_hits) == {1}  # each page fetched once


# --- a database that goes away ---------------------------------------------------------


@pytest.fixture
def proxied_pg(pg_schema_url: str) -> Iterator[tuple[str, TcpProxy]]:
    require_pg()
    target = make_url(PG_URL)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    url = pg_schema_url.replace(f"{target.host}:{target.port or 5432}", f"127.0.0.1:{proxy.port}")
    assert url != pg_schema_url
    yield url, proxy
    proxy.close()
    pipeline.close_resources()


def run_in_thread(settings: Settings) -> tuple[threading.Thread, dict[str, object]]:
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["summary"] = pipeline.run_poll(settings)
        except BaseException as exc:  # the test inspects it
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result


@pytest.mark.postgres
def test_database_outage_mid_run_is_ridden_out(
    farm: SiteFarm, proxied_pg: tuple[str, TcpProxy], tmp_path: Path
) -> None:
    url, proxy = proxied_pg
    urls = farm.add_generated("n", 120)
    farm.gated = lambda slug: int(slug.rsplit("-", 1)[1]) >= 60
    cfg = write_config(tmp_path, [farm.feed_url("n")], claim_minutes=15)
    direct = open_database(pg_direct(url, proxy))
    try:
        thread, result = run_in_thread(settings_for(cfg, url))
        wait_for(lambda: done(direct) >= 20, 90, "20 entries filed")
        proxy.cut()
        farm.gate.set()
        assert proxy.wait_refused(3, 60), "the run never tried to reconnect"
        proxy.restore()
        thread.join(120)
        assert not thread.is_alive()
        assert "error" not in result, result.get("error")
        assert_each_once(direct, urls)
    finally:
        direct.dispose()


@pytest.mark.postgres
def test_database_gone_for_good_fails_cleanly_and_next_run_resumes(
    farm: SiteFarm, proxied_pg: tuple[str, TcpProxy], tmp_path: Path
) -> None:
    url, proxy = proxied_pg
    urls = farm.add_generated("g", 80)
    farm.gated = lambda slug: int(slug.rsplit("-", 1)[1]) >= 40
    cfg = write_config(tmp_path, [farm.feed_url("g")], claim_minutes=1e-6)
    settings = settings_for(cfg, url)
    short = settings.model_copy(
        update={"poll": settings.poll.model_copy(update={"db_retry_seconds": 1.5})}
    )
    direct = open_database(pg_direct(url, proxy))
    try:
        thread, result = run_in_thread(short)
        wait_for(lambda: done(direct) >= 10, 90, "10 entries filed")
        proxy.cut()
        farm.gate.set()
        thread.join(60)
        assert not thread.is_alive()
        error = result.get("error")
        assert isinstance(error, DatabaseUnavailableError), repr(error)
        assert "database unreachable" in str(error) and "\n" not in str(error)
        assert counts(direct).get("pending", 0) > 0  # the rest is still queued, not lost

        proxy.restore()
        pipeline.close_resources()
        again = pipeline.run_poll(settings)
        assert again.count(Status.FAILED) == 0, again.as_text()
        assert_each_once(direct, urls)
    finally:
        direct.dispose()


def pg_direct(proxied_url: str, proxy: TcpProxy) -> str:
    target = make_url(PG_URL)
    return proxied_url.replace(f"127.0.0.1:{proxy.port}", f"{target.host}:{target.port or 5432}")


def test_sqlite_write_lock_held_elsewhere_makes_the_run_wait(
    farm: SiteFarm, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'locked.db'}"
    urls = farm.add_generated("l", 40)
    farm.gated = lambda slug: True
    cfg = write_config(tmp_path, [farm.feed_url("l")], claim_minutes=15)
    engine = open_database(db_url)
    blocker = engine.connect()
    try:
        thread, result = run_in_thread(settings_for(cfg, db_url))
        wait_for(lambda: counts(engine).get("pending", 0) == 40, 60, "40 queued entries")
        blocker.exec_driver_sql("BEGIN EXCLUSIVE")  # another process writing for a while
        farm.gate.set()
        wait_for(
            lambda: sum(n for p, n in farm.hits.items() if p.startswith("/p/")) >= 10,
            60,
            "pages fetched while the database is locked",
        )
        assert counts(engine).get("pending", 0) == 40  # nothing could be written meanwhile
        blocker.exec_driver_sql("COMMIT")
        thread.join(120)
        assert not thread.is_alive()
        assert "error" not in result, result.get("error")
        assert_each_once(engine, urls)
    finally:
        blocker.close()
        engine.dispose()
        pipeline.close_resources()


# --- the queue itself ------------------------------------------------------------------


def test_due_work_is_claimed_by_one_run_only(engine: Engine) -> None:
    now = utcnow()
    with session_factory(engine)() as s:
        for i in range(5):
            s.add(
                ArticleRow(
                    canonical_url=f"https://x.example/{i}",
                    url=f"https://x.example/{i}",
                    status=Status.PENDING.value,
                    first_seen_at=now,
                    updated_at=now,
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        s.commit()
    lease = timedelta(minutes=15)
    first, second = session_factory(engine)(), session_factory(engine)()
    try:
        taken_a = store.claim_due(first, utcnow(), max_attempts=5, limit=10, lease=lease)
        first.commit()
        taken_b = store.claim_due(second, utcnow(), max_attempts=5, limit=10, lease=lease)
        second.commit()
    finally:
        first.close()
        second.close()
    assert len(taken_a) == 5 and taken_b == []


def test_entry_that_keeps_killing_its_runs_ends_as_failure(engine: Engine) -> None:
    now = utcnow()
    with session_factory(engine)() as s:
        s.add(
            ArticleRow(
                canonical_url="https://x.example/poison",
                url="https://x.example/poison",
                status=Status.PENDING.value,
                first_seen_at=now,
                updated_at=now,
                attempts=5,
                next_attempt_at=now,
            )
        )
        s.commit()
        lease = timedelta(minutes=15)
        assert store.claim_due(s, utcnow(), max_attempts=5, limit=10, lease=lease) == []
        s.commit()
        row = s.scalars(select(ArticleRow)).one()
        s.refresh(row)
        assert row.status == Status.FAILED.value
        assert row.fail_reason and row.fail_reason.startswith("interrupted")
        assert row.next_attempt_at is None


def test_feed_is_never_marked_read_without_its_entries_queued(
    farm: SiteFarm, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    urls = farm.add_generated("q", 12)
    cfg = write_config(tmp_path, [farm.feed_url("q")], claim_minutes=15)
    settings = settings_for(cfg, db_url)
    pipeline.prepare(settings)
    [target] = pipeline.due_feeds(settings)
    result = pipeline.poll_feed(settings, target)  # the run "dies" right after the poll
    assert len(result.new_entries) == 12
    with engine.begin() as conn:
        body_hash = conn.execute(text("SELECT body_hash FROM feeds")).scalar()
        assert body_hash  # the feed counts as read...
        pending = conn.execute(
            select(func.count()).select_from(ArticleRow).where(ArticleRow.status == "pending")
        ).scalar()
        assert pending == 12  # ...only because its entries are queued
        conn.execute(update(ArticleRow).values(next_attempt_at=utcnow()))  # the claim expires
    summary = pipeline.run_poll(settings)
    assert len(summary.outcomes) == 12
    assert_each_once(engine, urls)


# --- a page that kills its extraction worker -------------------------------------------


def test_page_that_kills_its_worker_fails_alone(
    farm: SiteFarm, db_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash in a C library (or the OOM killer) takes the worker down: the page is tried
    once more on a fresh pool, then fails with its reason; the rest of the run is filed."""
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from monitor import analysis

    urls = farm.add_generated("k", 12)
    poison = urls[5]
    real_submit = analysis.submit
    tries: list[str] = []
    dead_pool = ProcessPoolExecutor(max_workers=1)  # stands for the pool that broke: never used

    def submit(settings, story_paths, page, entry):  # type: ignore[no-untyped-def]
        if page.url != poison:
            return real_submit(settings, story_paths, page, entry)
        tries.append(page.url)
        broken: Future[object] = Future()
        broken.set_exception(BrokenProcessPool("a worker died"))
        return broken, dead_pool

    monkeypatch.setattr(analysis, "submit", submit)
    cfg = write_config(tmp_path, [farm.feed_url("k")], claim_minutes=15)
    summary = pipeline.run_poll(settings_for(cfg, db_url))

    assert tries == [poison, poison]
    failed = [o for o in summary.outcomes if o.status is Status.FAILED]
    assert [o.url for o in failed] == [poison]
    assert failed[0].reason.startswith("worker_crashed")
    assert len(summary.outcomes) == 12
    with session_factory(engine)() as s:
        row = s.scalars(select(ArticleRow).where(ArticleRow.url == poison)).one()
        assert row.status == Status.FAILED.value and row.fail_reason.startswith("worker_crashed")


def test_page_whose_analysis_never_ends_fails_and_the_run_goes_on(
    farm: SiteFarm, db_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parser sent into an endless loop by a hostile page: after ``extraction.timeout_s``
    the page fails with its reason, its worker is killed, the rest is filed."""
    from concurrent.futures import Future, ProcessPoolExecutor

    from monitor import analysis

    urls = farm.add_generated("h", 8)
    stuck = urls[3]
    real_submit = analysis.submit
    stuck_pool = ProcessPoolExecutor(max_workers=1)  # stands for the stuck worker's pool
    killed: list[object] = []

    def submit(settings, story_paths, page, entry):  # type: ignore[no-untyped-def]
        if page.url != stuck:
            return real_submit(settings, story_paths, page, entry)
        return Future(), stuck_pool  # never completes

    monkeypatch.setattr(analysis, "submit", submit)
    monkeypatch.setattr(analysis, "kill_pool", killed.append)
    cfg = write_config(tmp_path, [farm.feed_url("h")], claim_minutes=15)
    settings = settings_for(cfg, db_url)
    settings = settings.model_copy(
        update={"extraction": settings.extraction.model_copy(update={"timeout_s": 1.0})}
    )
    summary = pipeline.run_poll(settings)

    assert killed == [stuck_pool]
    failed = [o for o in summary.outcomes if o.status is Status.FAILED]
    assert [o.url for o in failed] == [stuck]
    assert failed[0].reason.startswith("analysis_timeout")
    assert len(summary.outcomes) == 8


def test_kill_pool_stops_a_worker_stuck_in_a_loop() -> None:
    """shutdown() would wait for the stuck call forever; kill_pool ends it at once."""
    from concurrent.futures.process import BrokenProcessPool

    from monitor import analysis
    from monitor.config import ExtractionSettings

    pool = analysis.get_pool(ExtractionSettings(extract_processes=1))
    stuck = pool.submit(time.sleep, 600)
    wait_for(lambda: bool(getattr(pool, "_processes", None)), 60, "the worker to start")
    started = time.monotonic()
    analysis.kill_pool(pool)
    with pytest.raises(BrokenProcessPool):
        stuck.result(timeout=60)
    assert time.monotonic() - started < 30
    assert analysis.get_pool(ExtractionSettings(extract_processes=1)) is not pool
    analysis.reset_pool()

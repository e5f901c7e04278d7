"""The fault matrix through the real pipeline (``run_poll``), on SQLite and PostgreSQL.

One feed lists a page per fault plus good pages (among them the charset traps);
each feed fault is a feed URL of its own. For every fault: the run completes, good
pages are filed as if nothing happened, the failure is stored with its reason tag,
transient failures come back after a backoff that grows, permanent ones are not
fetched again before their (longer) backoff and stop after ``page_retry_max``.
"Later" is simulated by moving ``next_attempt_at`` / ``next_poll_at`` into the past
in the database, never by sleeping; request counts on the fault servers show what
was (not) fetched again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, update

from monitor import pipeline
from monitor.config import Settings, load_settings
from monitor.db import ArticleRow, FeedRow, session_factory
from monitor.records import Status, utcnow
from tests.faultcases import (
    CONNECT_TIMEOUT_S,
    FEED_CASES,
    MAX_BYTES,
    PAGE_CASES,
    READ_TIMEOUT_S,
    TOTAL_TIMEOUT_S,
    FaultFarm,
)
from tests.faultserver import respond, sequence

STORIES = Path(__file__).resolve().parents[2] / "config" / "stories"
STEP_MIN = 30.0  # backoff_step_minutes
RETRY_MAX = 3  # page_retry_max


def paragraphs(*texts: str) -> str:
    return "".join(f"<p>{t}</p>" for t in texts)


def article(title: str, body: str, meta: str = '<meta charset="utf-8">') -> str:
    return (
        f"<!doctype html><html><head>{meta}<title>{title}</title></head><body>"
        f"<article><h1>{title}</h1>{body}</article></body></html>"
    )


FR_TREATY = article(
    "Moscou et Pyongyang signent un traité de défense mutuelle",
    paragraphs(
        "Vladimir Poutine et Kim Jong-un ont signé mercredi à Pyongyang un traité de "
        "partenariat stratégique global qui prévoit une assistance militaire mutuelle.",
        "La Russie et la Corée du Nord s'engagent à se porter secours en cas d'agression, "
        "une clause qui inquiète Séoul, Tokyo et Washington.",
        "Le président russe n'était pas venu en Corée du Nord depuis vingt-quatre ans ; "
        "il a été accueilli par une foule immense sur la place Kim Il-sung.",
    ),
)
FR_MUNITIONS = article(
    "Des obus nord-coréens livrés à la Russie, selon Séoul",
    paragraphs(
        "Les services de renseignement sud-coréens affirment que la Corée du Nord a expédié "
        "des millions d'obus d'artillerie vers la Russie depuis l'été dernier.",
        "En échange, Moscou fournirait à Pyongyang du pétrole, des denrées alimentaires et "
        "une aide technologique pour ses programmes de satellites militaires.",
        "Le Kremlin dément toute livraison d'armes et dénonce des accusations sans preuves "
        "destinées à justifier de nouvelles sanctions occidentales.",
    ),
)
FR_RAIL = article(
    "Le pont ferroviaire entre la Russie et la Corée du Nord rouvre",
    paragraphs(
        "La liaison ferroviaire entre Khassan et Tumangang, seul passage terrestre entre la "
        "Russie et la Corée du Nord, a repris du service pour le fret.",
        "Les autorités de Primorié veulent y faire passer du charbon, des engrais et des "
        "touristes russes en route vers la station de ski de Masikryong.",
        "Un pont routier doit compléter l'ouvrage d'ici deux ans, selon l'accord conclu par "
        "les ministres des transports des deux pays.",
    ),
)
FR_TOURISM = article(
    "Les touristes russes de retour à Wonsan",
    paragraphs(
        "Un premier groupe de touristes russes est arrivé dans la station balnéaire de Wonsan, "
        "vitrine du tourisme voulu par Kim Jong-un et fermée aux visiteurs occidentaux.",
        "Les voyagistes de Vladivostok proposent des séjours d'une semaine, vols compris, "
        "signe du rapprochement entre Moscou et Pyongyang depuis la guerre en Ukraine.",
        "Les visiteurs ne peuvent se déplacer qu'accompagnés de guides nord-coréens et ne "
        "doivent photographier ni soldats ni chantiers.",
    ),
)
RU_AID = article(
    "Россия направит КНДР продовольственную помощь",
    paragraphs(
        "Правительство России одобрило поставку в Северную Корею пшеницы и муки в рамках "
        "соглашения, подписанного Владимиром Путиным и Ким Чен Ыном в Пхеньяне.",
        "Москва и Пхеньян также договорились расширить торговлю через железнодорожный "
        "переход Хасан — Туманган и возобновить прямое авиасообщение.",
        "В Сеуле и Вашингтоне считают, что помощь связана с поставками северокорейских "
        "боеприпасов для войны против Украины.",
    ),
    meta="",  # no charset anywhere: the bytes are cp1251
)

# path: (HTML bytes, Content-Type, words that must appear in the stored text)
GOOD_PAGES = {
    "/good/treaty.html": (FR_TREATY.encode(), "text/html; charset=utf-8", "traité de partenariat"),
    "/good/aid-cp1251.html": (RU_AID.encode("cp1251"), "text/html", "пшеницы и муки"),
    "/good/rail-latin1-said-utf8.html": (
        FR_RAIL.encode("latin-1"),
        "text/html; charset=utf-8",
        "liaison ferroviaire entre Khassan",
    ),
    "/good/tourism-utf8-said-latin1.html": (
        FR_TOURISM.replace('charset="utf-8"', 'charset="iso-8859-1"').encode(),
        "text/html; charset=iso-8859-1",
        "station balnéaire de Wonsan",
    ),
}
FLAKY_PAGE = "/good/munitions-flaky.html"


def rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{u}</link></item>" for t, u in items)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>faults</title>'
        f"{body}</channel></rss>"
    ).encode()


def make_settings(db_url: str, tmp_path: Path, feeds: list[str]) -> Settings:
    config = {
        "fetch": {
            "connect_timeout_s": CONNECT_TIMEOUT_S,
            "read_timeout_s": READ_TIMEOUT_S,
            "total_timeout_s": TOTAL_TIMEOUT_S,
            "max_bytes": MAX_BYTES,
            "host_concurrency": 8,
            "workers": 16,
            "respect_robots": False,
        },
        "poll": {
            "backoff_step_minutes": STEP_MIN,
            "max_backoff_minutes": 720,
            "page_retry_max": RETRY_MAX,
            "min_interval_minutes": 5,
        },
        "extraction": {"extract_processes": 1},
        "feeds": [{"url": url, "name": url.rsplit("/", 1)[-1]} for url in feeds],
    }
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(
        path,
        env={
            "MONITOR_DATABASE_URL": db_url,
            "MONITOR_HOST_INTERVAL_S": "0",
            "MONITOR_ALLOW_PRIVATE_NETWORKS": "1",  # the fault servers are on 127.0.0.1
            "MONITOR_STORIES": ",".join(str(p) for p in sorted(STORIES.glob("*.yaml"))),
        },
    )


@pytest.fixture
def farm() -> Iterator[FaultFarm]:
    with FaultFarm() as f:
        yield f
    pipeline.close_resources()  # the cached fetcher holds the 429 pause: not for the next test


def articles(settings: Settings) -> dict[str, ArticleRow]:
    with session_factory(pipeline.engine_for(settings))() as s:
        return {row.url: row for row in s.scalars(select(ArticleRow))}


def feed_rows(settings: Settings) -> dict[str, FeedRow]:
    with session_factory(pipeline.engine_for(settings))() as s:
        return {row.url: row for row in s.scalars(select(FeedRow))}


def make_due(settings: Settings) -> None:
    """What waiting out every backoff would do: due times moved an hour into the past."""
    with session_factory(pipeline.engine_for(settings))() as s:
        past = utcnow() - timedelta(hours=1)
        s.execute(
            update(ArticleRow)
            .where(ArticleRow.status == Status.FAILED.value)
            .where(ArticleRow.next_attempt_at.is_not(None))
            .values(next_attempt_at=past)
        )
        s.execute(update(FeedRow).values(next_poll_at=past))
        s.commit()


def minutes_after(later: datetime | None, earlier: datetime) -> float:
    assert later is not None
    return (later - earlier).total_seconds() / 60


def serve_page_faults(farm: FaultFarm) -> tuple[str, dict[str, str]]:
    """The feed of page faults; returns its URL and fault name -> page URL."""
    urls = {case.name: farm.serve(case, "/page") for case in PAGE_CASES}
    for path, (body, content_type, _) in GOOD_PAGES.items():
        farm.main.add(path, respond(200, body, content_type))
    flaky = sequence(
        respond(503, b"busy", "text/plain"),
        respond(200, FR_MUNITIONS.encode(), "text/html; charset=utf-8"),
    )
    farm.main.add(FLAKY_PAGE, flaky)
    items = [(name, url) for name, url in urls.items()]
    items += [(path, farm.main.url(path)) for path in [*GOOD_PAGES, FLAKY_PAGE]]
    feed = farm.main.add("/feeds/pages.xml", respond(200, rss(items), "application/rss+xml"))
    return feed, urls


def page_hits(farm: FaultFarm) -> dict[str, int]:
    return {case.name: farm.hits(case, "/page") for case in PAGE_CASES}


def test_page_faults(db_url: str, tmp_path: Path, farm: FaultFarm) -> None:
    feed, urls = serve_page_faults(farm)
    settings = make_settings(db_url, tmp_path, [feed])

    first = pipeline.run_poll(settings)
    now = utcnow()
    rows = articles(settings)
    assert first.feeds[0].outcome == "ok"
    # good pages are filed as if nothing else happened, charset traps read right
    for path, (_, _, words) in GOOD_PAGES.items():
        row = rows[farm.main.url(path)]
        assert row.status != Status.FAILED.value, (path, row.fail_reason)
        assert words in row.text, (path, row.text[:200])
    assert rows[farm.main.url("/good/treaty.html")].status == Status.FILED.value
    # every fault is a failure with its reason tag and a next attempt after a backoff
    for case in PAGE_CASES:
        row = rows[urls[case.name]]
        assert row.status == Status.FAILED.value, case
        assert row.fail_reason is not None and row.fail_reason.startswith(case.reason), (
            case,
            row.fail_reason,
        )
        assert row.attempts == 1
        backoff = STEP_MIN if case.transient else 4 * STEP_MIN  # permanent: 4x longer
        if case.name == "http-503-retry-after":
            backoff = 7200 / 60  # the server asked for longer than our backoff
        assert minutes_after(row.next_attempt_at, now) == pytest.approx(backoff, abs=1), case
    assert rows[farm.main.url(FLAKY_PAGE)].fail_reason.startswith("http_503")

    # a poll right away fetches nothing again: nothing is due, the feed is unchanged
    hits = page_hits(farm)
    second = pipeline.run_poll(settings)
    assert second.outcomes == () and page_hits(farm) == hits

    # once due, transient and permanent failures are tried again, with a longer backoff
    make_due(settings)
    third = pipeline.run_poll(settings)
    now = utcnow()
    rows = articles(settings)
    flaky = rows[farm.main.url(FLAKY_PAGE)]
    assert flaky.status == Status.FILED.value and "millions d'obus" in flaky.text
    for case in PAGE_CASES:
        row = rows[urls[case.name]]
        assert row.status == Status.FAILED.value and row.attempts == 2, case
        backoff = 2 * (STEP_MIN if case.transient else 4 * STEP_MIN)
        if case.name == "http-503-retry-after":
            backoff = 7200 / 60
        assert minutes_after(row.next_attempt_at, now) == pytest.approx(backoff, abs=1), case
        if case.host == "throttle":  # the host's 429 pause still runs: no request at all
            assert row.fail_reason.startswith("host_throttled")
            assert farm.hits(case, "/page") == hits[case.name]
        elif case.host == "main":
            assert row.fail_reason.startswith(case.reason), (case, row.fail_reason)
            assert farm.hits(case, "/page") > hits[case.name], case
    assert third.count(Status.FAILED) == len(PAGE_CASES)

    # the last allowed attempt, then never again
    make_due(settings)
    pipeline.run_poll(settings)
    rows = articles(settings)
    for case in PAGE_CASES:
        row = rows[urls[case.name]]
        assert row.attempts == RETRY_MAX and row.next_attempt_at is None, case
    hits = page_hits(farm)
    make_due(settings)
    last = pipeline.run_poll(settings)
    assert last.outcomes == () and page_hits(farm) == hits


def test_page_retry_after_is_respected(db_url: str, tmp_path: Path, farm: FaultFarm) -> None:
    case = next(c for c in PAGE_CASES if c.name == "http-503-retry-after")
    url = farm.serve(case, "/page")
    feed = farm.main.add("/feeds/one.xml", respond(200, rss([("busy", url)]), "text/xml"))
    settings = make_settings(db_url, tmp_path, [feed])
    pipeline.run_poll(settings)
    row = articles(settings)[url]
    assert minutes_after(row.next_attempt_at, utcnow()) >= 7200 / 60 - 1  # not 30 min


def test_feed_faults(db_url: str, tmp_path: Path, farm: FaultFarm) -> None:
    urls = {case.name: farm.serve(case, "/feed") for case in FEED_CASES}
    good_page = farm.main.add("/good/treaty.html", respond(200, FR_TREATY.encode()))
    good = farm.main.add("/feeds/good.xml", respond(200, rss([("t", good_page)]), "text/xml"))
    back_page = farm.main.add("/good/rail.html", respond(200, FR_RAIL.encode()))
    flaky = farm.main.add(
        "/feeds/flaky.xml",
        sequence(respond(500, b"oops", "text/plain"), respond(200, rss([("r", back_page)]))),
    )
    settings = make_settings(db_url, tmp_path, [*urls.values(), good, flaky])

    first = pipeline.run_poll(settings)
    now = utcnow()
    feeds = feed_rows(settings)
    assert feeds[good].last_outcome == "ok"
    assert articles(settings)[good_page].status == Status.FILED.value  # unaffected
    for case in FEED_CASES:
        row = feeds[urls[case.name]]
        assert row.last_outcome == "error", case
        assert row.last_reason is not None and row.last_reason.startswith(case.reason), (
            case,
            row.last_reason,
        )
        assert row.consecutive_failures == 1
        # backoff, or the server's Retry-After when longer
        backoff = 7200 / 60 if case.name == "http-503-retry-after" else STEP_MIN
        assert minutes_after(row.next_poll_at, now) == pytest.approx(backoff, abs=1), case
        assert "root:" not in (row.last_reason or "")
    assert feeds[flaky].last_outcome == "error"
    assert sum(1 for f in first.feeds if f.outcome == "error") == len(FEED_CASES) + 1

    hits = {case.name: farm.hits(case, "/feed") for case in FEED_CASES}
    second = pipeline.run_poll(settings)
    assert second.feeds == ()  # nothing due: no feed asked again
    assert {case.name: farm.hits(case, "/feed") for case in FEED_CASES} == hits

    make_due(settings)
    pipeline.run_poll(settings)
    now = utcnow()
    feeds = feed_rows(settings)
    assert feeds[flaky].last_outcome == "ok" and feeds[flaky].consecutive_failures == 0
    assert articles(settings)[back_page].status == Status.FILED.value  # recovered, filed
    for case in FEED_CASES:
        row = feeds[urls[case.name]]
        assert row.last_outcome == "error" and row.consecutive_failures == 2, case
        backoff = 7200 / 60 if case.name == "http-503-retry-after" else 2 * STEP_MIN
        assert minutes_after(row.next_poll_at, now) == pytest.approx(backoff, abs=1), case
        if case.host == "throttle":
            assert row.last_reason.startswith("host_throttled")
            assert farm.hits(case, "/feed") == hits[case.name]
        elif case.host == "main":
            assert farm.hits(case, "/feed") == hits[case.name] + (
                9 if case.name == "redirect-loop" else 1
            ), case

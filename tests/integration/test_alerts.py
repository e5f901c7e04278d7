"""Alerts against a local webhook receiver (pytest-httpserver), Apprise included."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.alerts import notify, redact
from monitor.config import AlertSettings
from monitor.records import Outcome, Status

ITEMS = (
    Outcome(
        url="https://lemonde.example/sommet",
        canonical_url="https://lemonde.example/sommet",
        status=Status.FILED,
        title="Sommet Moscou–Pyongyang",
        site="lemonde.example",
        language="fr",
        score=0.93,
    ),
    Outcome(
        url="https://tass.example/putin-kim",
        canonical_url="https://tass.example/putin-kim",
        status=Status.FILED,
        title="Путин и Ким",
        site="tass.example",
        language="ru",
        score=0.81,
    ),
    Outcome(
        url="https://x.example/dup",
        canonical_url="https://x.example/dup",
        status=Status.DUPLICATE,
        title="A copy",
        site="x.example",
    ),
    Outcome(
        url="https://x.example/off",
        canonical_url="https://x.example/off",
        status=Status.OFF_STORY,
        title="Football",
        site="x.example",
    ),
    Outcome(
        url="https://x.example/dry",
        canonical_url="https://x.example/dry",
        status=Status.FILED,
        title="Dry run only",
        site="x.example",
        dry_run=True,
    ),
)


def free_port() -> int:
    """A port nobody listens on: bound then released, so connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_off_by_default_and_silent_without_new_items(httpserver: HTTPServer) -> None:
    hook = httpserver.url_for("/hook")
    assert notify(AlertSettings(webhook_url=hook), ITEMS, run_name="r1") == []
    on = AlertSettings(enabled=True, webhook_url=hook)
    assert notify(on, ITEMS[2:], run_name="r1") == []  # no new on-story item
    assert httpserver.log == []


def test_one_webhook_post_per_run_listing_the_new_items(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    settings = AlertSettings(enabled=True, webhook_url=httpserver.url_for("/hook"))
    results = notify(settings, ITEMS, run_name="poll-feeds/brave-fox")
    assert [(r.kind, r.ok) for r in results] == [("webhook", True)]
    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    request = httpserver.log[0][0]
    body = json.loads(request.get_data())
    assert body["run"] == "poll-feeds/brave-fox"
    assert body["count"] == 2
    assert [i["url"] for i in body["items"]] == [ITEMS[0].url, ITEMS[1].url]
    assert body["items"][1] == {
        "title": "Путин и Ким",
        "site": "tass.example",
        "url": "https://tass.example/putin-kim",
        "canonical_url": "https://tass.example/putin-kim",
        "language": "ru",
        "score": 0.81,
    }
    assert "Sommet Moscou–Pyongyang (lemonde.example) [0.93]" in body["text"]
    assert "Dry run only" not in body["text"]


def test_failing_destinations_are_logged_and_returned_never_raised(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/broken").respond_with_data("boom", status=500)
    httpserver.expect_request("/good").respond_with_data("ok")
    refused = f"http://127.0.0.1:{free_port()}/hook?token=SECRET"
    settings = AlertSettings(
        enabled=True,
        webhook_url=httpserver.url_for("/broken"),
        apprise_urls=(
            f"json://127.0.0.1:{httpserver.port}/good",
            refused.replace("http://", "json://"),
            "notaservice://whatever",
        ),
        timeout_s=3,
    )
    with caplog.at_level(logging.WARNING, logger="monitor.alerts"):
        results = notify(settings, ITEMS, run_name="r2")
    assert [(r.kind, r.ok) for r in results] == [
        ("webhook", False),
        ("apprise", True),
        ("apprise", False),
        ("apprise", False),
    ]
    assert results[0].detail == "HTTP 500"
    assert results[3].detail == "not a valid Apprise URL"
    failures = [r for r in caplog.records if r.name == "monitor.alerts"]
    assert len(failures) == 3
    assert "SECRET" not in caplog.text and all("SECRET" not in r.destination for r in results)


def test_webhook_connection_refused_is_a_failed_delivery() -> None:
    settings = AlertSettings(enabled=True, webhook_url=f"http://127.0.0.1:{free_port()}/h")
    [result] = notify(settings, ITEMS, run_name="r3")
    assert not result.ok and "ConnectError" in result.detail


def test_apprise_json_url_reaches_the_local_receiver(httpserver: HTTPServer) -> None:
    received: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        received.append(json.loads(request.get_data()))
        return Response("ok")

    httpserver.expect_request("/apprise", method="POST").respond_with_handler(handler)
    url = f"json://127.0.0.1:{httpserver.port}/apprise"
    [result] = notify(AlertSettings(enabled=True, apprise_urls=(url,)), ITEMS, run_name="r4")
    assert result.ok and result.destination == f"json://127.0.0.1:{httpserver.port}"
    assert len(received) == 1
    assert received[0]["title"] == "newsmon: 2 new on-story items (r4)"
    assert "https://tass.example/putin-kim" in received[0]["message"]
    assert "Путин и Ким (tass.example) [0.81]" in received[0]["message"]


def test_redact_keeps_scheme_and_host_only() -> None:
    assert redact("tgram://123:ABC@api/chat?x=1") == "tgram://api"
    assert redact("https://user:pw@hooks.example:8443/T0/B1/secret") == "https://hooks.example:8443"
    assert redact("nonsense") == "(invalid url)"

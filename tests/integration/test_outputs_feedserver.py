"""The feed server on a real socket (port 0, own thread), fetched with httpx."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import pytest
from outputs_sample import sample_story
from sqlalchemy.orm import Session

from monitor.config import load_settings
from monitor.feedserver import FeedServer, make_server, serve_in_background

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def server(db_url: str, session: Session, tmp_path: Path) -> Iterator[FeedServer]:
    sample_story(session)
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds: []\n", encoding="utf-8")
    settings = load_settings(config, env={"MONITOR_DATABASE_URL": db_url})
    srv = make_server(settings, "127.0.0.1", 0)
    thread = serve_in_background(srv)
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_feed_atom_lists_on_story_items_and_supports_etag(server: FeedServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        response = client.get("/feed.atom")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/atom+xml")
        root = ET.fromstring(response.content)
        entries = root.findall(f"{ATOM}entry")
        assert [e.findtext(f"{ATOM}id") for e in entries] == [
            "https://www.nknews.example/troops-kursk",
            "https://tass.example/putin-kim",
            "https://lemonde.example/sommet-moscou-pyongyang",
        ]
        self_link = root.find(f"{ATOM}link[@rel='self']")
        assert self_link is not None and self_link.get("href") == f"{server.url}/feed.atom"
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo and len(parsed.entries) == 3

        etag = response.headers["etag"]
        again = client.get("/feed.atom", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.get("/feed.atom?limit=1").text.count("<entry>") == 1
        head = client.head("/feed.atom")
        assert head.status_code == 200 and head.content == b""


def test_items_json_report_and_healthz(server: FeedServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        items = client.get("/items.json").json()
        assert len(items) == 8 and items[0]["first_seen_at"].endswith("Z")
        dups = client.get("/items.json", params={"status": "duplicate"}).json()
        assert {d["duplicate_of"] for d in dups} == {
            "https://lemonde.example/sommet-moscou-pyongyang"
        }
        report = client.get("/report.html", params={"by": "source"})
        assert report.status_code == 200 and "text/html" in report.headers["content-type"]
        assert "Sommet Moscou–Pyongyang" in report.text and "<svg" in report.text
        assert client.get("/healthz").json() == {"ok": True}
        index = client.get("/")
        assert index.status_code == 200 and "/feed.atom" in index.text


def test_bad_requests_get_4xx_and_the_server_keeps_serving(server: FeedServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/nope").status_code == 404
        bad = client.get("/items.json", params={"limit": "lots"})
        assert bad.status_code == 400 and "limit" in bad.json()["error"]
        assert client.get("/items.json", params={"status": "bogus"}).status_code == 400
        assert client.get("/report.html", params={"since": "whenever"}).status_code == 400
        assert client.get("/items.json", params={"limit": "5000"}).status_code == 400
        assert client.get("/healthz").status_code == 200

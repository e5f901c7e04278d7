"""When a poll starts its extraction workers: before planning, unless it has no feeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor import analysis, pipeline
from monitor.config import ExtractionSettings, Settings, load_settings


@pytest.fixture
def warmed(monkeypatch: pytest.MonkeyPatch) -> list[ExtractionSettings]:
    calls: list[ExtractionSettings] = []
    monkeypatch.setattr(analysis, "warm", calls.append)
    return calls


def settings_with(tmp_path: Path, feeds: str) -> Settings:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(f"feeds:{feeds}\n", encoding="utf-8")
    return load_settings(cfg, env={"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_configured_feeds_start_the_workers(tmp_path: Path, warmed: list[object]) -> None:
    settings = settings_with(tmp_path, "\n  - url: https://example.org/feed.xml")
    pipeline.expect_pages(settings)
    assert warmed == [settings.extraction]


def test_named_feeds_start_the_workers(tmp_path: Path, warmed: list[object]) -> None:
    settings = settings_with(tmp_path, " []")
    pipeline.expect_pages(settings, only=["https://example.org/feed.xml"])
    assert warmed == [settings.extraction]


def test_no_feeds_start_nothing(tmp_path: Path, warmed: list[object]) -> None:
    pipeline.expect_pages(settings_with(tmp_path, " []"))
    assert warmed == []

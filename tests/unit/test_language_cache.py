"""The language model's plain copy in the user's cache: same answers, and any
problem with it falls back to the model py3langid ships."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor import language

TEXTS = [
    "Le président russe a reçu son homologue nord-coréen à Moscou pour parler de défense.",
    "The Russian president received his North Korean counterpart in Moscow for talks.",
    "Der russische Präsident empfing seinen nordkoreanischen Amtskollegen in Moskau.",
    "Президент России принял северокорейского лидера в Москве для переговоров.",
    "러시아 대통령은 모스크바에서 북한 지도자를 맞이하여 회담을 가졌다. "
    "양국은 군사 협력과 경제 교류를 논의했다.",
]


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    language._identifier.cache_clear()
    yield tmp_path
    language._identifier.cache_clear()


def _answers() -> list[tuple[str | None, float]]:
    language._identifier.cache_clear()
    return [language.detect_language(t) for t in TEXTS]


def test_the_cached_copy_answers_exactly_as_the_shipped_model(cache_home: Path) -> None:
    shipped = _answers()  # no cache yet: the shipped model, and the copy is written
    copies = list((cache_home / "newsmon").glob("langid-*.npz"))
    assert len(copies) == 1 and copies[0].stat().st_size > 1_000_000
    assert not list((cache_home / "newsmon").glob("*.tmp"))
    assert _answers() == shipped  # now from the copy
    assert [code for code, _ in shipped] == ["fr", "en", "de", "ru", "ko"]


def test_a_damaged_copy_falls_back_to_the_shipped_model(cache_home: Path) -> None:
    shipped = _answers()
    (copy,) = (cache_home / "newsmon").glob("langid-*.npz")
    copy.write_bytes(copy.read_bytes()[:1000])  # a torn file
    assert _answers() == shipped


def test_an_unwritable_cache_only_costs_the_slow_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    language._identifier.cache_clear()
    try:
        assert language.detect_language(TEXTS[0])[0] == "fr"
    finally:
        language._identifier.cache_clear()

"""The sketch's token ids: plain crc32, memoized within a bound."""

from __future__ import annotations

import zlib

import pytest

from monitor import minhash


def _crc(toks: list[str]) -> list[int]:
    return [zlib.crc32(t.encode("utf-8")) for t in toks]


def test_token_ids_are_crc32_and_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minhash, "_TOKEN_IDS", {})
    monkeypatch.setattr(minhash, "_TOKEN_CACHE_MAX", 5)
    toks = ["été", "a", "b", "a", "c"]
    assert minhash._token_ids(toks) == _crc(toks)
    assert len(minhash._TOKEN_IDS) == 4
    more = ["d", "e", "f", "a"]  # 4 known + 3 new > 5: the memo restarts with this list's words
    assert minhash._token_ids(more) == _crc(more)
    assert set(minhash._TOKEN_IDS) == set(more)
    assert minhash._token_ids([]) == []

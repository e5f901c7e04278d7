"""robots.txt cache policy with a fake clock and a fake getter (no network)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.errors import FetchError, PermanentFetchError, TransientFetchError
from monitor.robots import RobotsCache

AGENT = "newsmon/0.1 (+https://monitor.example/contact)"
RULES = b"User-agent: *\nDisallow: /private/\n"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Getter:
    """Answers robots.txt requests from a script and counts them."""

    def __init__(self, *answers: bytes | FetchError) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, url: str) -> tuple[int, bytes]:
        self.calls.append(url)
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(answer, FetchError):
            raise answer
        return 200, answer


def cache(getter: Getter, clock: FakeClock) -> RobotsCache:
    return RobotsCache(AGENT, getter, ttl_s=3600, error_ttl_s=60, clock=clock)


def test_rules_are_cached_for_the_ttl() -> None:
    clock, getter = FakeClock(), Getter(RULES, b"")
    robots = cache(getter, clock)
    assert not robots.allowed("https://site.example/private/a")
    assert robots.allowed("https://site.example/public")
    clock.now += 3599
    assert not robots.allowed("https://site.example/private/b")
    assert getter.calls == ["https://site.example/robots.txt"]
    clock.now += 2  # expired: fetched again, and the new (empty) rules apply
    assert robots.allowed("https://site.example/private/a")
    assert len(getter.calls) == 2


def test_one_entry_per_origin() -> None:
    clock, getter = FakeClock(), Getter(RULES)
    robots = cache(getter, clock)
    robots.allowed("https://site.example/a")
    robots.allowed("http://site.example/a")
    robots.allowed("https://site.example:8443/a")
    robots.allowed("https://SITE.example/b")
    assert getter.calls == [
        "https://site.example/robots.txt",
        "http://site.example/robots.txt",
        "https://site.example:8443/robots.txt",
    ]


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_4xx_allows_everything_for_the_full_ttl(status: int) -> None:
    clock = FakeClock()
    getter = Getter(PermanentFetchError("gone", reason=f"http_{status}", status_code=status))
    robots = cache(getter, clock)
    assert robots.allowed("https://site.example/private/a")
    clock.now += 3000
    assert robots.allowed("https://site.example/private/a")
    assert len(getter.calls) == 1


@pytest.mark.parametrize(
    "error",
    [
        TransientFetchError("boom", reason="http_503", status_code=503),
        TransientFetchError("slow", reason="timeout"),
        TransientFetchError("down", reason="connect_error"),
        TransientFetchError("busy", reason="http_429", status_code=429),
    ],
)
def test_server_errors_allow_but_are_retried_soon(error: FetchError) -> None:
    clock, getter = FakeClock(), Getter(error, RULES)
    robots = cache(getter, clock)
    assert robots.allowed("https://site.example/private/a")
    clock.now += 30
    assert robots.allowed("https://site.example/private/a")
    assert len(getter.calls) == 1
    clock.now += 31  # short TTL over: the real rules are picked up
    assert not robots.allowed("https://site.example/private/a")
    assert len(getter.calls) == 2


def test_invalid_urls_are_left_to_the_fetcher() -> None:
    getter = Getter(RULES)
    assert cache(getter, FakeClock()).allowed("not a url")
    assert getter.calls == []


def test_concurrent_first_use_fetches_once() -> None:
    gate = threading.Event()
    calls: list[str] = []

    def slow_getter(url: str) -> tuple[int, bytes]:
        calls.append(url)
        gate.wait(5)
        return 200, RULES

    robots = RobotsCache(AGENT, slow_getter)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(robots.allowed, "https://site.example/x") for _ in range(8)]
        gate.set()
        assert all(f.result(timeout=5) for f in futures)
    assert calls == ["https://site.example/robots.txt"]

"""HostPools: a transport per origin, bounded, never closed under a response in use."""

from __future__ import annotations

import httpx
import pytest

from monitor.hostpools import HostPools


class Recording(httpx.MockTransport):
    """A MockTransport that says which origin it serves and whether it was closed."""

    made: list[Recording]

    def __init__(self) -> None:
        super().__init__(lambda request: httpx.Response(200, text=str(request.url.host)))
        self.hosts: set[str] = set()
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.add(request.url.host)
        return super().handle_request(request)

    def close(self) -> None:
        self.closed = True


def pools(max_hosts: int = 256) -> tuple[HostPools, list[Recording]]:
    made: list[Recording] = []

    def make() -> Recording:
        made.append(Recording())
        return made[-1]

    return HostPools(make, max_hosts=max_hosts), made


def get(client: httpx.Client, url: str) -> httpx.Response:
    return client.get(url)


def test_each_origin_gets_its_own_transport_and_keeps_it() -> None:
    transport, made = pools()
    with httpx.Client(transport=transport) as client:
        for url in ("http://a.test/1", "http://b.test/1", "http://a.test/2", "https://a.test/"):
            assert get(client, url).text == httpx.URL(url).host
        assert transport.hosts() == 3
    assert [t.hosts for t in made] == [{"a.test"}, {"b.test"}, {"a.test"}]  # https is another


def test_least_recently_used_idle_pools_are_closed_beyond_the_bound() -> None:
    transport, made = pools(max_hosts=2)
    with httpx.Client(transport=transport) as client:
        get(client, "http://a.test/")
        get(client, "http://b.test/")
        get(client, "http://a.test/")  # b is now the least recently used
        get(client, "http://c.test/")
        assert transport.hosts() == 2
        assert [t.closed for t in made] == [False, True, False]


def test_a_pool_with_an_unread_response_is_not_closed() -> None:
    transport, made = pools(max_hosts=1)
    with httpx.Client(transport=transport) as client:
        with client.stream("GET", "http://a.test/") as streaming:
            get(client, "http://b.test/")  # over the bound, but a is in use
            assert not made[0].closed
            assert transport.hosts() == 2
            assert streaming.read() == b"a.test"
        get(client, "http://c.test/")  # a's response is closed: a and b may go now
        assert made[0].closed and made[1].closed
        assert transport.hosts() == 1


def test_a_failed_request_gives_its_pool_back() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    transport = HostPools(lambda: httpx.MockTransport(refuse), max_hosts=1)
    with httpx.Client(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            client.get("http://a.test/")
        with pytest.raises(httpx.ConnectError):
            client.get("http://b.test/")
        assert transport.hosts() == 1  # a was no longer in use, so b replaced it


def test_close_closes_every_pool_and_refuses_new_requests() -> None:
    transport, made = pools()
    client = httpx.Client(transport=transport)
    get(client, "http://a.test/")
    get(client, "http://b.test/")
    client.close()
    assert all(t.closed for t in made)
    with pytest.raises(RuntimeError, match="closed"):
        transport.handle_request(httpx.Request("GET", "http://a.test/"))


def test_max_hosts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_hosts"):
        HostPools(httpx.MockTransport, max_hosts=0)


def test_pools_unused_for_idle_s_are_closed_on_the_next_request() -> None:
    """Idle sockets do not outlive their use in a long-lived process, whatever the bound."""
    now = [0.0]
    made: list[Recording] = []

    def make() -> Recording:
        made.append(Recording())
        return made[-1]

    transport = HostPools(make, max_hosts=10, idle_s=30.0, clock=lambda: now[0])
    with httpx.Client(transport=transport) as client:
        get(client, "http://a.test/")
        now[0] = 20.0
        get(client, "http://b.test/")
        now[0] = 40.0  # a unused for 40 s, b for 20 s
        get(client, "http://b.test/")
        assert [t.closed for t in made] == [True, False]
        with client.stream("GET", "http://c.test/"):
            now[0] = 100.0  # c is in use however long it takes
            get(client, "http://b.test/")
            assert [t.closed for t in made] == [True, False, False]
        assert transport.hosts() == 2

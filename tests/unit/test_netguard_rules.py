"""The address rules of monitor.netguard, and its backend with fake DNS and fake sockets."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpcore
import pytest

from monitor.errors import BadInputError, PermanentFetchError
from monitor.netguard import (
    BlockedAddressError,
    BlockedConnection,
    GuardedBackend,
    blocked_reason,
    check_address,
    check_url_host,
    literal_address,
    url_error,
)

# (URL host as split_http_url returns it, address it denotes, expected label fragment)
BLOCKED_HOSTS = [
    ("127.0.0.1", "127.0.0.1", "loopback"),
    ("127.255.255.254", "127.255.255.254", "loopback"),
    ("2130706433", "127.0.0.1", "loopback"),  # one integer
    ("017700000001", "127.0.0.1", "loopback"),  # octal
    ("0x7f000001", "127.0.0.1", "loopback"),  # hex
    ("0x7f.1", "127.0.0.1", "loopback"),  # hex + shorthand
    ("0177.0.0.1", "127.0.0.1", "loopback"),  # octal first label
    ("127.1", "127.0.0.1", "loopback"),  # shorthand
    ("0", "0.0.0.0", "unspecified"),
    ("0.0.0.0", "0.0.0.0", "unspecified"),
    ("10.0.0.5", "10.0.0.5", "private"),
    ("172.16.3.4", "172.16.3.4", "private"),
    ("172.31.255.255", "172.31.255.255", "private"),
    ("192.168.1.1", "192.168.1.1", "private"),
    ("3232235777", "192.168.1.1", "private"),
    ("100.64.0.1", "100.64.0.1", "CGNAT"),
    ("100.127.255.254", "100.127.255.254", "CGNAT"),
    ("169.254.1.1", "169.254.1.1", "link-local"),
    ("169.254.169.254", "169.254.169.254", "metadata"),
    ("2852039166", "169.254.169.254", "metadata"),
    ("169.254.170.2", "169.254.170.2", "metadata"),
    ("100.100.100.200", "100.100.100.200", "metadata"),
    ("192.0.0.192", "192.0.0.192", "metadata"),
    ("192.0.0.8", "192.0.0.8", "IETF"),
    ("192.0.2.10", "192.0.2.10", "documentation"),
    ("198.51.100.7", "198.51.100.7", "documentation"),
    ("203.0.113.9", "203.0.113.9", "documentation"),
    ("198.18.0.1", "198.18.0.1", "benchmarking"),
    ("192.88.99.1", "192.88.99.1", "6to4"),
    ("224.0.0.251", "224.0.0.251", "multicast"),
    ("239.255.255.250", "239.255.255.250", "multicast"),
    ("240.0.0.1", "240.0.0.1", "reserved"),
    ("255.255.255.255", "255.255.255.255", "reserved"),
    ("[::1]", "::1", "loopback"),
    ("[::]", "::", "unspecified"),
    ("[::ffff:127.0.0.1]", "::ffff:7f00:1", "loopback"),  # IPv4-mapped
    ("[::ffff:a9fe:a9fe]", "::ffff:a9fe:a9fe", "metadata"),  # mapped 169.254.169.254
    ("[::ffff:10.0.0.1]", "::ffff:a00:1", "private"),
    ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("[64:ff9b::a9fe:a9fe]", "64:ff9b::a9fe:a9fe", "metadata"),
    ("[64:ff9b:1::1]", "64:ff9b:1::1", "NAT64"),
    ("[2002:7f00:1::1]", "2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("[2002:c0a8:101::1]", "2002:c0a8:101::1", "private"),  # 6to4 of 192.168.1.1
    ("[::127.0.0.1]", "::7f00:1", "IPv4-compatible"),
    ("[fc00::1]", "fc00::1", "unique local"),
    ("[fd12:3456::1]", "fd12:3456::1", "unique local"),
    ("[fd00:ec2::254]", "fd00:ec2::254", "metadata"),
    ("[fe80::1]", "fe80::1", "link-local"),
    ("[fe80::1%eth0]", "fe80::1", "link-local"),
    ("[fec0::1]", "fec0::1", "site-local"),
    ("[ff02::1]", "ff02::1", "multicast"),
    ("[ff0e::1]", "ff0e::1", "multicast"),
    ("[2001:db8::1]", "2001:db8::1", "documentation"),
    ("[3fff::1]", "3fff::1", "documentation"),
    ("[2001::1]", "2001::1", "IETF"),  # Teredo
    ("[100::1]", "100::1", "discard"),
    ("[5f00::1]", "5f00::1", "SRv6"),
    ("[4000::1]", "4000::1", "reserved"),  # outside global unicast 2000::/3
]

PUBLIC_HOSTS = [
    ("8.8.8.8", "8.8.8.8"),
    ("1.1.1.1", "1.1.1.1"),
    ("134744072", "8.8.8.8"),  # integer spelling of a public address is still public
    ("93.184.215.14", "93.184.215.14"),
    ("100.63.255.255", "100.63.255.255"),  # just below 100.64/10
    ("100.128.0.1", "100.128.0.1"),  # just above it
    ("172.32.0.1", "172.32.0.1"),  # just above 172.16/12
    ("169.255.0.1", "169.255.0.1"),
    ("[2606:4700:4700::1111]", "2606:4700:4700::1111"),
    ("[2a00:1450:4007:80e::200e]", "2a00:1450:4007:80e::200e"),
    ("[::ffff:8.8.8.8]", "::ffff:808:808"),  # mapped public
    ("[64:ff9b::808:808]", "64:ff9b::808:808"),  # NAT64 of a public address
    ("[2002:808:808::1]", "2002:808:808::1"),  # 6to4 of a public address
]


@pytest.mark.parametrize(("host", "address", "label"), BLOCKED_HOSTS)
def test_every_blocked_class_of_literal_is_refused(host: str, address: str, label: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)
    with pytest.raises(BlockedAddressError) as info:
        check_url_host(host, f"http://{host}/x")
    error = info.value
    assert isinstance(error, PermanentFetchError)
    assert error.reason == "blocked_address" and error.url == f"http://{host}/x"
    message = error.describe()
    assert message.startswith("blocked_address: ") and "\n" not in message
    assert label in message and host in message
    assert "MONITOR_ALLOW_PRIVATE_NETWORKS" in message


@pytest.mark.parametrize(("host", "address"), PUBLIC_HOSTS)
def test_public_literals_pass(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)
    check_url_host(host)
    assert blocked_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "localhost.", "api.localhost", "printer.local",
     "metadata.google.internal", "router.home.arpa"],
)  # fmt: skip
def test_local_only_names_are_refused_without_dns(host: str) -> None:
    with pytest.raises(BlockedAddressError, match="local-only host name"):
        check_url_host(host)


@pytest.mark.parametrize(
    "host",
    ["example.com", "news.example", "localhost.example.com", "local.fr", "internal.news.org",
     "1.2.3.4.5", "123.example", "0x7f.example"],
)  # fmt: skip
def test_ordinary_names_are_left_to_connect_time(host: str) -> None:
    assert literal_address(host) is None
    check_url_host(host)


def test_check_address_names_host_and_address() -> None:
    with pytest.raises(BlockedAddressError) as info:
        check_address("10.1.2.3", host="intranet.example")
    assert "intranet.example resolves to 10.1.2.3" in str(info.value)
    check_address(ipaddress.ip_address("8.8.4.4"))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "unsupported_scheme"),
        ("ftp://ftp.example.org/pub/file", "unsupported_scheme"),
        ("javascript:alert(1)", "unsupported_scheme"),
        ("gopher://127.0.0.1:6379/_INFO", "unsupported_scheme"),
        ("data:text/html,<p>x</p>", "unsupported_scheme"),
        ("not a url", "invalid_url"),
        ("//no-scheme.example/a", "invalid_url"),
        ("http://", "invalid_url"),
    ],
)
def test_url_error_tells_scheme_from_garbage(url: str, reason: str) -> None:
    error = url_error(url, BadInputError(f"unusable URL: {url!r}"))
    assert error.reason == reason and error.url == url
    if reason == "unsupported_scheme":
        assert "only http and https" in str(error)


# --- the connect-time backend, with fake DNS and a recording inner backend ---------------


class RecordingBackend(httpcore.NetworkBackend):
    """Stands in for the socket layer: records where it was asked to connect."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.dialled: list[tuple[str, int]] = []
        self.refuse = refuse

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        self.dialled.append((host, port))
        if host in self.refuse:
            raise httpcore.ConnectError(f"connection refused by {host}")
        return httpcore.MockStream([])


class FakeDNS:
    """Answers from a script, one answer list per call, and counts the calls."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        self.calls.append(host)
        addresses = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in addresses
        ]


def test_backend_dials_the_vetted_address_not_the_name() -> None:
    inner, dns = RecordingBackend(), FakeDNS(["93.184.215.14"], ["127.0.0.1"])
    backend = GuardedBackend(inner, resolve=dns)
    backend.connect_tcp("news.example", 443)
    # one resolution, and the socket layer got the address: it has no name to re-resolve
    assert dns.calls == ["news.example"]
    assert inner.dialled == [("93.184.215.14", 443)]


def test_backend_refuses_a_name_that_resolves_privately() -> None:
    inner = RecordingBackend()
    backend = GuardedBackend(inner, resolve=FakeDNS(["10.0.0.7"]))
    with pytest.raises(BlockedConnection, match=r"news\.example resolves to 10\.0\.0\.7"):
        backend.connect_tcp("news.example", 80)
    assert inner.dialled == []


def test_backend_refuses_if_any_answer_is_private() -> None:
    """A rebinding answer mixing a public and a private address: nothing is dialled."""
    inner = RecordingBackend()
    backend = GuardedBackend(inner, resolve=FakeDNS(["93.184.215.14", "127.0.0.1"]))
    with pytest.raises(BlockedConnection, match="loopback"):
        backend.connect_tcp("news.example", 80)
    assert inner.dialled == []


def test_backend_rebinding_between_connections_is_caught_on_the_next_connection() -> None:
    inner, dns = RecordingBackend(), FakeDNS(["93.184.215.14"], ["169.254.169.254"])
    backend = GuardedBackend(inner, resolve=dns)
    backend.connect_tcp("news.example", 80)
    with pytest.raises(BlockedConnection, match="metadata"):
        backend.connect_tcp("news.example", 80)
    assert inner.dialled == [("93.184.215.14", 80)]
    assert dns.calls == ["news.example", "news.example"]


def test_backend_tries_the_next_vetted_address_like_create_connection() -> None:
    inner = RecordingBackend(refuse=frozenset({"2606:4700::1"}))
    backend = GuardedBackend(inner, resolve=FakeDNS(["2606:4700::1", "93.184.215.14"]))
    backend.connect_tcp("news.example", 80)
    assert inner.dialled == [("2606:4700::1", 80), ("93.184.215.14", 80)]


def test_backend_resolution_failure_is_an_ordinary_connect_error() -> None:
    def nxdomain(*args: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    backend = GuardedBackend(RecordingBackend(), resolve=nxdomain)
    with pytest.raises(httpcore.ConnectError) as info:
        backend.connect_tcp("nowhere.example", 80)
    assert not isinstance(info.value, BlockedConnection)


def test_backend_refuses_unix_sockets() -> None:
    with pytest.raises(BlockedConnection):
        GuardedBackend(RecordingBackend()).connect_unix_socket("/var/run/docker.sock")

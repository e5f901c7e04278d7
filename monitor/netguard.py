"""Where the fetcher may connect: public internet addresses over http(s), nothing else.

Feed entries, redirects and URLs typed into the dashboard are all chosen by
someone else; without a guard, ``http://169.254.169.254/latest/meta-data/`` in a
feed would make the monitor read its own cloud credentials, and a redirect to
``http://127.0.0.1:5432/`` would let an outside server probe our private network.

Two layers, because each alone has a hole:

* :func:`check_url_host`, before every hop (so redirect targets too), refuses
  IP literals outside the public internet, in every spelling resolvers accept
  (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``), and names that are
  reserved for local use (``localhost``, ``*.local``...). It needs no DNS, so it
  also protects requests sent through an injected transport (tests).
* :class:`GuardedBackend`, at connect time, resolves the name itself, refuses
  if *any* answer is a blocked address, and connects the socket to the vetted
  address: a second DNS answer (DNS rebinding: public when checked, 127.0.0.1
  when connecting) is never asked for. TLS still verifies the certificate
  against the host name, which httpcore passes to ``start_tls`` on its own.

An address is allowed only if it is global unicast: not loopback, private,
shared (CGNAT), link-local (so no 169.254.169.254), unique-local (so no
``fd00:ec2::254``), documentation, benchmarking, multicast or reserved.
IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by the
IPv4 address inside. ``FetchSettings.allow_private_networks``
(``MONITOR_ALLOW_PRIVATE_NETWORKS=1``) turns both layers off.

With the guard on, ``HTTP(S)_PROXY`` variables are not used: a proxy resolves
names where we cannot check the answers.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import httpcore
import httpx

from monitor.errors import BadInputError, PermanentFetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Returns why ``ip`` must not be reached (a short label), or None if it may.
AddressPolicy = Callable[[IPAddress], str | None]
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
HINT = "set MONITOR_ALLOW_PRIVATE_NETWORKS=1 to allow private networks"

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Named first so the message says "cloud metadata", not only "link-local".
METADATA_ADDRESSES: dict[IPAddress, str] = {
    ipaddress.ip_address("169.254.169.254"): "cloud metadata",  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("169.254.170.2"): "cloud metadata",  # AWS ECS task credentials
    ipaddress.ip_address("100.100.100.200"): "cloud metadata",  # Alibaba
    ipaddress.ip_address("192.0.0.192"): "cloud metadata",  # Oracle
    ipaddress.ip_address("fd00:ec2::254"): "cloud metadata",  # AWS over IPv6
}

# IANA special-purpose registries, plus multicast and the reserved class E.
_V4_BLOCKED: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (_V4(net), label)
    for net, label in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)
_V6_BLOCKED: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (_V6(net), label)
    for net, label in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignment"),  # Teredo, ORCHID, benchmarking...
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "SRv6"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_V6_GLOBAL_UNICAST = _V6("2000::/3")
_NAT64 = _V6("64:ff9b::/96")

# Names that never reach the public DNS: RFC 6761 (localhost), RFC 6762 (mDNS .local),
# RFC 8375 (home.arpa), ICANN's private-use .internal (metadata.google.internal).
_LOCAL_SUFFIXES = ("localhost", "local", "home.arpa", "internal")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")


class BlockedAddressError(PermanentFetchError):
    """A URL or a DNS answer points where the fetcher must not go; reason ``blocked_address``."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message, reason="blocked_address", url=url)


class BlockedConnection(httpcore.ConnectError):
    """Raised inside httpcore by :class:`GuardedBackend`.

    A ``ConnectError`` so httpx maps it like any refused connection (keeping it
    as ``__cause__``) and ``monitor.httpbody.transport_error`` turns it into a
    :class:`BlockedAddressError`.
    """


# --- addresses --------------------------------------------------------------------------


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be reached (``"loopback"``, ``"cloud metadata"``...), None if global."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ip if ip.scope_id is None else ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        inner = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        )
        if inner is not None:
            why = blocked_reason(inner)
            return None if why is None else f"{why} {inner} inside {ip}"
        if ip.sixtofour is not None:
            why = blocked_reason(ip.sixtofour)
            return None if why is None else f"{why} {ip.sixtofour} inside 6to4 {ip}"
    if ip in METADATA_ADDRESSES:
        return METADATA_ADDRESSES[ip]
    if isinstance(ip, ipaddress.IPv4Address):
        for net4, label in _V4_BLOCKED:
            if ip in net4:
                return label
    else:
        for net6, label in _V6_BLOCKED:
            if ip in net6:
                return label
        if ip not in _V6_GLOBAL_UNICAST:
            return "reserved"
    if ip.is_multicast or not ip.is_global:  # the standard library's view, as a safety net
        return "not global"
    return None


def check_address(ip: IPAddress | str, host: str | None = None) -> None:
    """Raise :class:`BlockedAddressError` unless ``ip`` is a public unicast address."""
    address = ipaddress.ip_address(ip.split("%", 1)[0]) if isinstance(ip, str) else ip
    why = blocked_reason(address)
    if why is None:
        return
    what = f"{address} is"
    if host and host != str(address):
        what = f"{host} resolves to {address}, which is"
    raise BlockedAddressError(f"{what} not a public address ({why}); not fetched ({HINT})")


def literal_address(host: str) -> IPAddress | None:
    """The address an IP-literal host denotes, however it is spelled; None for a name.

    Resolvers accept IPv4 in shorthand (``127.1``), integer (``2130706433``),
    octal (``0177.0.0.1``) and hex (``0x7f.1``) forms, so a blocklist that only
    parses dotted quads is trivially bypassed. A host whose labels are all
    numbers is read with ``inet_aton``, the parser those resolvers use.
    """
    text = host.strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text.split("%", 1)[0] if ":" in text else text)
    except ValueError:
        pass
    labels = text.split(".")
    if labels and all(_NUMERIC_LABEL.match(label) for label in labels):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def check_url_host(host: str, url: str | None = None) -> None:
    """Refuse a URL host that is a blocked IP literal or a name reserved for local use.

    Names are otherwise judged at connect time (:class:`GuardedBackend`), where
    the DNS answer is known.
    """
    address = literal_address(host)
    if address is not None:
        why = blocked_reason(address)
        if why is not None:
            shown = host if host.strip("[]") == str(address) else f"{host} (= {address})"
            raise BlockedAddressError(
                f"{shown} is not a public address ({why}); not fetched ({HINT})", url=url
            )
        return
    name = host.strip().lower().rstrip(".")
    if any(name == s or name.endswith("." + s) for s in _LOCAL_SUFFIXES):
        raise BlockedAddressError(
            f"{name} is a local-only host name; not fetched ({HINT})", url=url
        )


def url_error(url: str, exc: BadInputError) -> PermanentFetchError:
    """``unsupported_scheme`` for ``file:``, ``ftp:``, ``javascript:``...; else ``invalid_url``."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme and scheme not in ALLOWED_SCHEMES:
        return PermanentFetchError(
            f"unsupported scheme {scheme!r} (only http and https are fetched): {url[:200]}",
            reason="unsupported_scheme",
            url=url,
        )
    return PermanentFetchError(str(exc), reason="invalid_url", url=url)


def refuse_unusable_redirect(response: httpx.Response) -> None:
    """Response hook: a redirect to ``file:``, ``javascript:``... is ``unsupported_scheme``.

    httpx builds the next request of every redirect even when it is not asked to
    follow it, and a ``Location`` such as ``javascript:alert(1)`` makes that raise
    a bare ``InvalidURL`` about the *current* URL before the fetcher ever sees
    the header. Checking here names the real problem.
    """
    if not response.has_redirect_location:
        return
    location = response.headers["location"].strip()
    source = str(response.url)
    try:
        target = urldefrag(urljoin(source, location))[0]
        scheme = urlsplit(target).scheme.lower()
        httpx.URL(location)
    except (ValueError, httpx.InvalidURL) as exc:
        raise PermanentFetchError(
            f"redirect from {source} to an invalid URL {location[:200]!r}: {exc}",
            reason="invalid_url",
            url=source,
        ) from None
    if scheme not in ALLOWED_SCHEMES:
        raise PermanentFetchError(
            f"redirect from {source} to unsupported scheme {scheme!r} "
            f"(only http and https are fetched): {target[:200]}",
            reason="unsupported_scheme",
            url=target,
        )


# --- connect time -----------------------------------------------------------------------


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore backend that resolves once, vets every answer, and dials the vetted IP."""

    def __init__(
        self,
        inner: httpcore.NetworkBackend | None = None,
        *,
        policy: AddressPolicy = blocked_reason,
        resolve: Resolver | None = None,
    ) -> None:
        self._inner = inner or httpcore.SyncBackend()
        self._policy = policy
        self._resolve = resolve

    def vetted_addresses(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, if all are allowed; else BlockedConnection."""
        resolve = self._resolve or socket.getaddrinfo  # looked up late: tests patch socket
        try:
            answers = resolve(host, port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses: list[str] = []
        for answer in answers:
            text = str(answer[4][0])
            if text not in addresses:
                addresses.append(text)
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        for text in addresses:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
            why = self._policy(ip)
            if why is not None:
                what = f"{text} is" if host == text else f"{host} resolves to {text}, which is"
                raise BlockedConnection(
                    f"{what} not a public address ({why}); not fetched ({HINT})"
                )
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in self.vetted_addresses(host, port):
            try:
                return self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # like socket.create_connection: try the next address
        assert error is not None
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedConnection(f"unix socket {path}; not fetched ({HINT})")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with :class:`GuardedBackend` under its connection pool.

    httpx offers no parameter for the network backend, so the pool it builds is
    replaced by an identical one (same TLS context and limits) that has it.
    """

    def __init__(
        self,
        backend: httpcore.NetworkBackend | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        ssl_context = ssl_context or httpx.create_ssl_context()
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=ssl_context, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend or GuardedBackend(),
        )


__all__ = [
    "BlockedAddressError",
    "BlockedConnection",
    "GuardedBackend",
    "GuardedTransport",
    "blocked_reason",
    "check_address",
    "check_url_host",
    "literal_address",
    "refuse_unusable_redirect",
    "url_error",
]

"""Network safety end to end: the fetcher, with private networks NOT allowed, against
real loopback servers that count every TCP connection they accept.

Every server here is on 127.0.0.x, which the guard refuses; where a test needs the
guard to let a connection through, it gives the guarded backend a policy under
which 127.0.0.2 stands for "the public internet" and a fake DNS that answers it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from monitor import pipeline
from monitor.config import FetchSettings, load_settings
from monitor.db import ArticleRow, session_factory
from monitor.errors import FetchError, PermanentFetchError
from monitor.fetch import Fetcher
from monitor.netguard import GuardedBackend, GuardedTransport, IPAddress, blocked_reason
from monitor.records import Status

HTML = b"<!doctype html><html><head><title>t</title></head><body><p>Hello</p></body></html>"
FAKE_PUBLIC = ipaddress.ip_address("127.0.0.2")


def settings(**overrides: Any) -> FetchSettings:
    base: dict[str, Any] = {
        "connect_timeout_s": 1.0,
        "read_timeout_s": 1.0,
        "total_timeout_s": 3.0,
        "host_interval_s": 0.0,
        "respect_robots": False,
        "allow_private_networks": False,
    }
    base.update(overrides)
    return FetchSettings(**base)


class CountingServer(ThreadingHTTPServer):
    """Serves HTML on every path and counts accepted connections and requests."""

    daemon_threads = True

    def __init__(self, host: str, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.connections = 0
        self.paths: list[str] = []
        self.tls = tls
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(HTML)))
                self.end_headers()
                self.wfile.write(HTML)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__((host, port), Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        self.connections += 1
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True)
        return sock, addr

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@pytest.fixture
def serve() -> Iterator[Callable[..., CountingServer]]:
    started: list[tuple[CountingServer, threading.Thread]] = []

    def start(host: str = "127.0.0.1", port: int = 0, **kw: Any) -> CountingServer:
        server = CountingServer(host, port, **kw)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def pair_on_one_port(
    serve: Callable[..., CountingServer], **kw: Any
) -> tuple[CountingServer, CountingServer]:
    """A server on 127.0.0.2 ("public") and one on 127.0.0.1 (loopback) on the same port."""
    for _ in range(20):
        public = serve("127.0.0.2", **kw)
        try:
            return public, serve("127.0.0.1", public.port, **kw)
        except OSError:
            continue  # that port is taken on 127.0.0.1: try another
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


def failure(call: Callable[[], object]) -> FetchError:
    with pytest.raises(FetchError) as info:
        call()
    return info.value


def only_127_0_0_2_is_public(ip: IPAddress) -> str | None:
    return None if ip == FAKE_PUBLIC else blocked_reason(ip)


class FakeDNS:
    """Answers ``news.example`` from a script (one answer per call); counts calls."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        assert host == "news.example", host
        self.calls += 1
        address = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


# --- literal addresses: refused before any connection ----------------------------------

LITERAL_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f.1",
    "0x7f000001",
    "017700000001",
    "0177.0.0.1",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[64:ff9b::7f00:1]",
    "[::1]",
    "localhost",
    "www.localhost",
    "0.0.0.0",
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # fullwidth digits, NFKC-folded by IDNA
    "news.example@127.0.0.1",  # userinfo in front of the real host
]


@pytest.mark.parametrize("spelling", LITERAL_SPELLINGS)
def test_loopback_in_any_spelling_is_refused_without_a_connection(
    serve: Callable[..., CountingServer], spelling: str
) -> None:
    server = serve()
    url = f"http://{spelling}:{server.port}/a"
    with Fetcher(settings(respect_robots=True)) as fetcher:
        page_error = failure(lambda: fetcher.fetch_page(url))
        feed_error = failure(lambda: fetcher.fetch_feed(url))
    for error in (page_error, feed_error):
        assert isinstance(error, PermanentFetchError)
        assert error.reason == "blocked_address" and error.url == url
        assert "MONITOR_ALLOW_PRIVATE_NETWORKS" in str(error)
    assert server.connections == 0 and server.paths == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://10.0.0.1/",
        "http://192.168.1.1/admin",
        "http://100.64.0.1/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
    ],
)
def test_private_and_metadata_addresses_are_refused(url: str) -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, html=HTML.decode())

    with Fetcher(settings(), transport=httpx.MockTransport(handler)) as fetcher:
        error = failure(lambda: fetcher.fetch_page(url))
    assert error.reason == "blocked_address" and sent == []


# --- names resolved at connect time ------------------------------------------------------


def patch_dns(monkeypatch: pytest.MonkeyPatch, name: str, address: str) -> list[str]:
    """Make ``name`` resolve to ``address`` for every caller of socket.getaddrinfo."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def fake(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        if host == name:
            asked.append(host)
            return real(address, port, *args, **kw)
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return asked


@pytest.mark.parametrize("robots", [False, True])
def test_name_resolving_to_loopback_is_refused_at_connect_time(
    serve: Callable[..., CountingServer], monkeypatch: pytest.MonkeyPatch, robots: bool
) -> None:
    server = serve()
    asked = patch_dns(monkeypatch, "news.example", "127.0.0.1")
    url = f"http://news.example:{server.port}/article"
    with Fetcher(settings(respect_robots=robots)) as fetcher:  # the production transport
        error = failure(lambda: fetcher.fetch_page(url))
    assert isinstance(error, PermanentFetchError)
    assert error.reason == "blocked_address" and error.url == url
    assert "news.example resolves to 127.0.0.1" in str(error) and "loopback" in str(error)
    assert asked, "the guard resolved the name itself"
    assert server.connections == 0 and server.paths == []


def test_name_resolving_to_metadata_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_dns(monkeypatch, "innocent.example", "169.254.169.254")
    with Fetcher(settings()) as fetcher:
        error = failure(lambda: fetcher.fetch_feed("http://innocent.example/feed.xml"))
    assert error.reason == "blocked_address" and "cloud metadata" in str(error)


def test_unresolvable_name_is_still_a_transient_connect_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def nxdomain(host: Any, *args: Any, **kw: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nxdomain)  # no DNS query leaves the machine
    with Fetcher(settings()) as fetcher:
        error = failure(lambda: fetcher.fetch_page("http://does-not-exist.invalid/"))
    assert error.reason == "connect_error"


def test_dns_rebinding_connects_to_the_vetted_address_or_not_at_all(
    serve: Callable[..., CountingServer],
) -> None:
    """First answer "public" (127.0.0.2 under the test policy), then loopback.

    The request goes to the address that was checked; the next connection asks
    DNS again, gets loopback, and is refused. Loopback never sees a byte.
    """
    public, loopback = pair_on_one_port(serve)
    dns = FakeDNS("127.0.0.2", "127.0.0.1")
    backend = GuardedBackend(policy=only_127_0_0_2_is_public, resolve=dns)
    url = f"http://news.example:{public.port}/a"
    with Fetcher(settings(), transport=GuardedTransport(backend)) as fetcher:
        page = fetcher.fetch_page(url)
        assert page.status_code == 200 and public.paths == ["/a"]
        assert dns.calls == 1
        # http.server closes after each answer, so this needs a new connection
        error = failure(lambda: fetcher.fetch_page(url))
    assert error.reason == "blocked_address" and "127.0.0.1" in str(error)
    assert dns.calls == 2
    assert loopback.connections == 0 and public.paths == ["/a"]


def test_mixed_answer_with_one_private_address_is_refused(
    serve: Callable[..., CountingServer],
) -> None:
    public, loopback = pair_on_one_port(serve)

    def both(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in ("127.0.0.2", "127.0.0.1")
        ]

    backend = GuardedBackend(policy=only_127_0_0_2_is_public, resolve=both)
    with Fetcher(settings(), transport=GuardedTransport(backend)) as fetcher:
        error = failure(lambda: fetcher.fetch_page(f"http://news.example:{public.port}/a"))
    assert error.reason == "blocked_address"
    assert public.connections == 0 and loopback.connections == 0


# --- TLS still checks the host name when the socket is dialled by address ---------------


def make_tls(hostname: str) -> tuple[ssl.SSLContext, bytes]:
    """A server context with a certificate for ``hostname``, and its CA's PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "newsmon test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    cert_pem = leaf.public_bytes(pem)
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return server_context(cert_pem, key_pem), ca.public_bytes(pem)


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    import tempfile

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "c.pem").write_bytes(cert_pem)
        (Path(tmp) / "k.pem").write_bytes(key_pem)
        ctx.load_cert_chain(Path(tmp) / "c.pem", Path(tmp) / "k.pem")
    return ctx


@pytest.mark.parametrize(("cert_for", "ok"), [("news.example", True), ("other.example", False)])
def test_https_dialled_by_address_still_verifies_the_host_name(
    serve: Callable[..., CountingServer], cert_for: str, ok: bool
) -> None:
    server_tls, ca_pem = make_tls(cert_for)
    sni: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, ctx: sni.append(name)
    server = serve("127.0.0.2", tls=server_tls)
    client_tls = ssl.create_default_context(cadata=ca_pem.decode())
    backend = GuardedBackend(policy=only_127_0_0_2_is_public, resolve=FakeDNS("127.0.0.2"))
    transport = GuardedTransport(backend, ssl_context=client_tls)
    url = f"https://news.example:{server.port}/secure"
    with Fetcher(settings(), transport=transport) as fetcher:
        if ok:
            assert fetcher.fetch_page(url).status_code == 200
            assert server.paths == ["/secure"]
        else:
            error = failure(lambda: fetcher.fetch_page(url))
            assert error.reason != "blocked_address" and "CERTIFICATE_VERIFY_FAILED" in str(error)
            assert server.paths == []
    assert sni and sni[0] == "news.example"


# --- redirects and schemes ---------------------------------------------------------------


def redirecting_fetcher(location: str, sent: list[str]) -> Fetcher:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        if request.url.host == "news.example":
            return httpx.Response(302, headers={"Location": location})
        return httpx.Response(200, html=HTML.decode())

    return Fetcher(settings(), transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "//169.254.169.254/latest/meta-data/",  # scheme-relative
        "http://127.0.0.1:5432/",
        "http://2130706433/",
        "http://[::ffff:169.254.169.254]/",
        "http://localhost:8080/admin",
        "https://[fd00:ec2::254]/latest/api/token",
    ],
)
def test_redirect_into_the_private_network_is_refused_before_it_is_sent(location: str) -> None:
    sent: list[str] = []
    with redirecting_fetcher(location, sent) as fetcher:
        page_error = failure(lambda: fetcher.fetch_page("https://news.example/a"))
        feed_error = failure(lambda: fetcher.fetch_feed("https://news.example/a"))
    for error in (page_error, feed_error):
        assert isinstance(error, PermanentFetchError) and error.reason == "blocked_address"
    assert sent == ["https://news.example/a", "https://news.example/a"]


@pytest.mark.parametrize(
    "location",
    [
        "file:///etc/passwd",
        "ftp://ftp.example.org/pub/a.html",
        "javascript:alert(document.cookie)",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "data:text/html,<p>hi</p>",
    ],
)
def test_redirect_to_another_scheme_is_unsupported_scheme(location: str) -> None:
    sent: list[str] = []
    with redirecting_fetcher(location, sent) as fetcher:
        error = failure(lambda: fetcher.fetch_page("https://news.example/a"))
    assert isinstance(error, PermanentFetchError) and error.reason == "unsupported_scheme"
    assert sent == ["https://news.example/a"]


@pytest.mark.parametrize("allow", [False, True])
@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://ftp.example.org/x", "javascript:alert(1)"]
)
def test_first_url_with_another_scheme_is_unsupported_scheme(url: str, allow: bool) -> None:
    with Fetcher(settings(allow_private_networks=allow)) as fetcher:
        assert failure(lambda: fetcher.fetch_page(url)).reason == "unsupported_scheme"
        assert failure(lambda: fetcher.fetch_feed(url)).reason == "unsupported_scheme"
        assert failure(lambda: fetcher.fetch_page("not a url")).reason == "invalid_url"


# --- allowed private networks -------------------------------------------------------------


def test_allowed_private_networks_fetch_local_servers_normally(
    serve: Callable[..., CountingServer],
) -> None:
    server = serve()
    with Fetcher(settings(allow_private_networks=True, respect_robots=True)) as fetcher:
        page = fetcher.fetch_page(f"http://127.0.0.1:{server.port}/a")
        feed = fetcher.fetch_feed(f"http://localhost:{server.port}/feed")
    assert page.status_code == 200 and feed.status_code == 200
    assert "/a" in server.paths and "/feed" in server.paths


# --- the pipeline ------------------------------------------------------------------------


@pytest.fixture
def guarded_settings(db_url: str, tmp_path: Path) -> Iterator[Any]:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(
        "fetch: {host_interval_s: 0, respect_robots: false, total_timeout_s: 5}\n"
        "extraction: {extract_processes: 1}\nfeeds: []\n",
        encoding="utf-8",
    )
    env = {"MONITOR_DATABASE_URL": db_url, "MONITOR_ALLOW_PRIVATE_NETWORKS": "0"}
    yield load_settings(cfg, env=env)
    pipeline.close_resources()


def articles(settings: Any) -> list[ArticleRow]:
    with session_factory(pipeline.engine_for(settings))() as s:
        return list(s.scalars(select(ArticleRow).order_by(ArticleRow.id)))


def test_ingest_url_of_metadata_address_records_only_a_blocked_failure(
    guarded_settings: Any,
) -> None:
    assert guarded_settings.fetch.allow_private_networks is False
    url = "http://169.254.169.254/latest/meta-data/"
    outcome = pipeline.ingest_url(guarded_settings, url)
    assert outcome.status is Status.FAILED and outcome.reason.startswith("blocked_address: ")
    [row] = articles(guarded_settings)
    assert row.status == "failed" and row.fail_reason == outcome.reason
    assert row.text == "" and row.title == ""


def test_poll_of_a_feed_pointing_inside_files_nothing_from_there(
    guarded_settings: Any, serve: Callable[..., CountingServer]
) -> None:
    """A public feed (MockTransport) whose entries point at loopback and metadata."""
    local = serve()
    inside = [
        f"http://127.0.0.1:{local.port}/secret",
        f"http://2130706433:{local.port}/secret2",
        f"http://[::ffff:127.0.0.1]:{local.port}/secret3",
        "http://169.254.169.254/latest/meta-data/",
    ]
    items = "".join(
        f"<item><title>Item {i}</title><link>{link}</link><guid>{link}</guid></item>"
        for i, link in enumerate([*inside, "https://news.example/ok.html"])
    )
    feed = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'
    )
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        if request.url.path == "/feed.xml":
            return httpx.Response(200, text=feed, headers={"Content-Type": "application/rss+xml"})
        return httpx.Response(200, html=HTML.decode())

    key = guarded_settings.fetch.model_dump_json()
    pipeline._fetchers[key] = Fetcher(
        guarded_settings.fetch, transport=httpx.MockTransport(handler)
    )
    summary = pipeline.run_poll(guarded_settings, only=["https://news.example/feed.xml"])

    reasons = {o.url: o.reason for o in summary.outcomes}
    for link in inside:
        assert reasons[link].startswith("blocked_address: "), reasons
    assert not reasons["https://news.example/ok.html"].startswith("blocked_address")
    assert sorted(sent) == ["https://news.example/feed.xml", "https://news.example/ok.html"]
    assert local.connections == 0
    stored = {r.url: r for r in articles(guarded_settings)}
    for link in inside:  # recorded with the reason (for retry bookkeeping), nothing filed
        row = stored[link]
        assert (row.fail_reason or "").startswith("blocked_address: ")
        assert row.status not in ("filed", "duplicate", "off_story", "review")
        assert row.text == "" and row.text_hash is None


@pytest.mark.parametrize("location", ["http://[::1", "https://news.example:99999/x"])
def test_unparsable_redirect_target_is_invalid_url_not_a_network_error(location: str) -> None:
    sent: list[str] = []
    with redirecting_fetcher(location, sent) as fetcher:
        error = failure(lambda: fetcher.fetch_page("https://news.example/a"))
    assert isinstance(error, PermanentFetchError) and error.reason == "invalid_url"
    assert location in str(error) and sent == ["https://news.example/a"]

"""A self-contained demo site: the five seeds as web pages, reposts of them, a few
off-story pages, and RSS feeds, served on 127.0.0.1 so a new user can watch the
whole pipeline work without internet.

Pages are built at start-up from the seed files, so the demo always shows the
product's real regression set. Reposts are made the way real copy sites make
them (other boilerplate, a prefixed title, a truncated teaser, a dropped
paragraph, an ad paragraph, other quotes, typos) and sit in a second feed, so
polling ``originals.xml`` then ``reposts.xml`` shows originals filed first and
their copies caught.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from monitor import normalize
from monitor.records import utcnow
from monitor.seeds import SEED_DIR

OFF_STORY = (
    (
        "xi-putin",
        "Xi Jinping et Vladimir Poutine affichent leur entente à Pékin",
        [
            "Le président chinois Xi Jinping a reçu jeudi Vladimir Poutine à Pékin pour un "
            "sommet consacré au commerce, à l'énergie et aux paiements en monnaies nationales.",
            "Les deux dirigeants ont signé une déclaration sur le « partenariat sans limites » et "
            "évoqué le gazoduc Force de Sibérie 2, dont le tracé reste en discussion.",
            "Les échanges entre la Chine et la Russie ont atteint un niveau record l'an dernier, "
            "portés par les hydrocarbures russes et les voitures chinoises.",
        ],
    ),
    (
        "ballons",
        "Séoul dénonce de nouveaux ballons chargés de déchets venus du Nord",
        [
            "L'état-major sud-coréen a recensé plusieurs centaines de ballons lâchés "
            "pendant la nuit "
            "au-dessus de la zone démilitarisée, chargés de papiers et de plastiques.",
            "Séoul a suspendu l'accord militaire de 2018 et repris la diffusion de messages par "
            "haut-parleurs le long de la frontière, une mesure jugée provocatrice par le Nord.",
            "Aucun blessé n'a été signalé, mais des vols ont été retardés à l'aéroport d'Incheon.",
        ],
    ),
    (
        "drones-iran",
        "Kyiv abat une vague de drones de conception iranienne",
        [
            "La défense antiaérienne ukrainienne affirme avoir détruit la plupart des "
            "drones Shahed "
            "lancés dans la nuit par l'armée russe contre la région de Kyiv.",
            "Téhéran dément livrer ces appareils, que Moscou produit désormais en partie sur son "
            "propre sol, selon des responsables occidentaux.",
            "Des coupures d'électricité touchent plusieurs quartiers après des frappes sur des "
            "installations énergétiques.",
        ],
    ),
)

AD_PARAGRAPH = (
    "PUBLICITÉ — Abonnez-vous pour 1 € le premier mois et recevez notre lettre "
    "d'information chaque matin."
)
SITES = ("actu-monde.example", "le-fil-info.example", "revue-presse.example", "infos-24.example")


@dataclass(frozen=True, slots=True)
class DemoPage:
    path: str
    title: str
    paragraphs: tuple[str, ...]
    site: str
    feed: str  # originals or reposts
    kind: str  # seed, repost:<kind>, off_story


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n") if len(p.strip()) > 40]


def _typos(text: str) -> str:
    words = text.split(" ")
    for i in range(3, len(words), 17):
        w = words[i]
        if len(w) > 4:
            words[i] = w[:2] + w[3] + w[2] + w[4:]
    return " ".join(words)


def _requote(text: str) -> str:
    return (
        text.replace("«\u00a0", '"')
        .replace("\u00a0»", '"')
        .replace("«", '"')
        .replace("»", '"')
        .replace("’", "'")
        .replace("–", "-")
    )


def build_pages(seed_dir: Path = SEED_DIR) -> list[DemoPage]:
    pages: list[DemoPage] = []
    seeds = []
    for path in sorted(seed_dir.glob("*.txt")):
        title, body = normalize.title_from_document(path.read_text(encoding="utf-8"))
        paras = _paragraphs(body)
        seeds.append((path.stem, title, paras))
        pages.append(
            DemoPage(
                f"/articles/{path.stem}.html", title, tuple(paras), SITES[0], "originals", "seed"
            )
        )
    for slug, title, paras in OFF_STORY:
        pages.append(
            DemoPage(
                f"/articles/{slug}.html", title, tuple(paras), SITES[0], "originals", "off_story"
            )
        )
    makers = (
        ("prefixed_title", lambda t, p: (f"EXCLUSIF - {t} | Le Fil Info", p)),
        ("teaser", lambda t, p: (t, [*p[: max(1, len(p) // 2)], "Lire la suite de l'article…"])),
        ("paragraph_dropped", lambda t, p: (t, p[:1] + p[2:] if len(p) > 2 else p)),
        (
            "ad_added",
            lambda t, p: (
                t,
                [
                    *p[:2],
                    AD_PARAGRAPH,
                    *p[2:],
                ],
            ),
        ),
        ("quotes_typos", lambda t, p: (_requote(t), [_typos(_requote(x)) for x in p])),
    )
    for i, (stem, title, paras) in enumerate(seeds):
        kind, make = makers[i % len(makers)]
        new_title, new_paras = make(title, list(paras))
        site = SITES[1 + i % (len(SITES) - 1)]
        pages.append(
            DemoPage(
                f"/copies/{stem}-{kind}.html",
                new_title,
                tuple(new_paras),
                site,
                "reposts",
                f"repost:{kind}",
            )
        )
    return pages


def render_page(page: DemoPage, base: str) -> bytes:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs)
    published = utcnow().date().isoformat()
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8">
<title>{html.escape(page.title)} - {page.site}</title>
<link rel="canonical" href="{base}{page.path}">
<meta property="og:site_name" content="{page.site}">
<meta property="og:title" content="{html.escape(page.title)}">
<meta name="author" content="Rédaction {page.site}">
<meta property="article:published_time" content="{published}T08:00:00+00:00">
</head><body>
<header><nav><a href="/">Accueil</a> | <a href="/monde">Monde</a> |
<a href="/contact">Contact</a></nav></header>
<main><article><h1>{html.escape(page.title)}</h1>
<p class="byline">Par la rédaction, <time datetime="{published}">{published}</time></p>
{body}
</article></main>
<footer><p>© {page.site} — Tous droits réservés. Mentions légales · Cookies</p></footer>
</body></html>""".encode()


def render_feed(pages: list[DemoPage], feed: str, base: str) -> bytes:
    now = format_datetime(utcnow())
    items = "\n".join(
        f"<item><title>{html.escape(p.title)}</title><link>{base}{p.path}</link>"
        f"<guid>{base}{p.path}</guid><pubDate>{now}</pubDate>"
        f"<description>{html.escape(p.paragraphs[0][:200] if p.paragraphs else '')}"
        "</description></item>"
        for p in pages
        if p.feed == feed
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>newsmon demo: {feed}</title><link>{base}/</link>
<description>Local demo feed</description><language>fr</language>
{items}
</channel></rss>""".encode()


class DemoSite:
    """The pages and feeds, keyed by path, for a server at ``base``."""

    def __init__(self, base: str, seed_dir: Path = SEED_DIR) -> None:
        self.base = base
        self.pages = build_pages(seed_dir)
        self.files: dict[str, tuple[str, bytes]] = {
            p.path: ("text/html; charset=utf-8", render_page(p, base)) for p in self.pages
        }
        for feed in ("originals", "reposts"):
            self.files[f"/{feed}.xml"] = (
                "application/rss+xml",
                render_feed(self.pages, feed, base),
            )
        self.files["/robots.txt"] = ("text/plain", b"User-agent: *\nAllow: /\n")

    def feed_url(self, feed: str) -> str:
        return f"{self.base}/{feed}.xml"


@contextmanager
def serve_demo(
    host: str = "127.0.0.1", port: int = 0, before_answer: Callable[[str], None] | None = None
) -> Iterator[DemoSite]:
    """Serve the demo site in a background thread for the duration of the block.

    ``before_answer`` is called with each request's path before it is answered, on
    the request's own thread: tests use it to count requests or to hold pages back.
    """
    holder: dict[str, DemoSite] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if before_answer is not None:
                before_answer(self.path)
            found = holder["site"].files.get(self.path.split("?")[0])
            if found is None:
                self.send_error(404)
                return
            ctype, data = found
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    holder["site"] = DemoSite(f"http://{host}:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="newsmon-demo", daemon=True)
    thread.start()
    try:
        yield holder["site"]
    finally:
        server.shutdown()
        server.server_close()

"""extract_article on small HTML snippets: metadata, fallbacks, noise, encodings, rejects."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import ExtractionSettings
from monitor.errors import BadInputError
from monitor.extract import (
    METHOD_FEED,
    METHOD_PRECISION,
    METHOD_RECALL,
    Extraction,
    ExtractionRejected,
    detect_language,
    extract_article,
    parse_html,
)
from monitor.language import normalize_language
from monitor.noise import drop_noise_lines, is_noise_line
from monitor.pagemeta import (
    HEADER_MAX_DRIFT_DAYS,
    PageMeta,
    _backwards,
    _forwards,
    choose_author,
    choose_published,
    read_page_meta,
    strip_site_name,
)
from monitor.records import FeedEntry, Page

PARAGRAPHS = [
    "Le président russe Vladimir Poutine est arrivé mercredi à Pyongyang pour une visite "
    "d'État, sa première en Corée du Nord depuis vingt-quatre ans, a annoncé le Kremlin.",
    "Les deux dirigeants ont signé un traité de partenariat stratégique global qui prévoit "
    "une assistance mutuelle en cas d'agression contre l'un des deux pays, selon l'agence KCNA.",
    "Les États-Unis et la Corée du Sud se disent préoccupés par l'approfondissement de la "
    "coopération militaire entre Moscou et Pyongyang, notamment les livraisons de munitions.",
    "Kim Jong-un a qualifié la Russie de « plus honnête ami et allié », tandis que Vladimir "
    "Poutine a remercié la Corée du Nord pour son « soutien constant » à la politique russe.",
]
TITLE = "Poutine et Kim Jong-un signent un traité de partenariat stratégique"


def article_html(
    *,
    head: str = "",
    lang: str | None = "fr",
    body_extra: str = "",
    paragraphs: list[str] | None = None,
    h1: str = TITLE,
    title: str = TITLE,
) -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    paras = "\n".join(f"<p>{p}</p>" for p in (PARAGRAPHS if paragraphs is None else paragraphs))
    return f"""<!DOCTYPE html>
<html{lang_attr}><head><meta charset="utf-8"><title>{title} | Le Quotidien</title>{head}</head>
<body>
<header><nav><a href="/">Accueil</a> <a href="/monde">Monde</a></nav></header>
<main><article>
<h1>{h1}</h1>
{paras}
{body_extra}
</article></main>
<footer><p>Le Quotidien - Contact</p></footer>
</body></html>"""


def make_page(html: str | bytes, **kwargs: object) -> Page:
    body = html.encode("utf-8") if isinstance(html, str) else html
    url = str(kwargs.pop("url", "https://www.lequotidien.example/monde/poutine-kim.html"))
    return Page(url=url, final_url=url, status_code=200, body=body, **kwargs)  # type: ignore[arg-type]


def entry(**kwargs: object) -> FeedEntry:
    values: dict[str, object] = {
        "feed_url": "https://www.lequotidien.example/rss.xml",
        "link": "https://www.lequotidien.example/monde/poutine-kim.html",
        "title": "Poutine à Pyongyang",
        "summary": (
            "<p>Le président russe est arrivé à Pyongyang &amp; a rencontré Kim Jong-un.</p>"
        ),
    }
    values.update(kwargs)
    return FeedEntry(**values)  # type: ignore[arg-type]


# --- metadata ---------------------------------------------------------------------------


def test_text_title_site_language_and_method() -> None:
    head = '<meta property="og:site_name" content="Le Quotidien">'
    result = extract_article(make_page(article_html(head=head)))
    article = result.article
    assert isinstance(result, Extraction)
    assert article.extraction_method == METHOD_PRECISION
    assert article.title == TITLE
    assert article.site == "Le Quotidien"
    assert article.language == "fr"
    assert article.text.splitlines()[0] == PARAGRAPHS[0]
    assert "Contact" not in article.text and "Accueil" not in article.text
    assert article.canonical_url == "https://www.lequotidien.example/monde/poutine-kim.html"


def test_jsonld_publication_time_with_offset_becomes_utc() -> None:
    head = """<script type="application/ld+json">{"@context": "https://schema.org",
      "@graph": [{"@type": "NewsArticle", "headline": "x",
        "datePublished": "2024-06-18T23:45:00+02:00",
        "author": [{"@type": "Person", "name": "Marie Dupont"}]}]}</script>"""
    result = extract_article(make_page(article_html(head=head)))
    assert result.article.published_at == datetime(2024, 6, 18, 21, 45, tzinfo=UTC)
    assert result.published_day == date(2024, 6, 18)
    assert result.article.author == "Marie Dupont"


def test_evening_article_west_of_greenwich_keeps_its_local_day() -> None:
    head = '<meta property="article:published_time" content="2022-05-03T21:30:00-05:00">'
    result = extract_article(make_page(article_html(head=head)))
    assert result.article.published_at == datetime(2022, 5, 4, 2, 30, tzinfo=UTC)
    assert result.published_day == date(2022, 5, 3)


def test_author_meta_and_description() -> None:
    head = (
        '<meta name="author" content="Jean Martin">'
        '<meta name="description" content="Visite historique à Pyongyang.">'
    )
    article = extract_article(make_page(article_html(head=head))).article
    assert article.author == "Jean Martin"
    assert article.description == "Visite historique à Pyongyang."


def test_site_name_is_not_listed_as_a_co_author() -> None:
    head = (
        '<meta property="og:site_name" content="Le Quotidien">'
        '<meta name="author" content="Le Quotidien; Jean Martin">'
    )
    assert extract_article(make_page(article_html(head=head))).article.author == "Jean Martin"


def test_site_suffix_is_stripped_from_a_metadata_title() -> None:
    head = '<meta property="og:title" content="Visite à Pyongyang - Le Quotidien">'
    html = article_html(head=head, h1="")
    html = html.replace("<h1></h1>", "<h1>Le Quotidien</h1><h1>Monde</h1>")
    article = extract_article(make_page(html)).article
    assert article.title == "Visite à Pyongyang"


def test_single_h1_headline_beats_an_seo_og_title() -> None:
    head = '<meta property="og:title" content="Poutine Kim traité : ce qu’il faut savoir">'
    article = extract_article(make_page(article_html(head=head))).article
    assert article.title == TITLE


def test_declared_canonical_is_resolved_but_not_applied() -> None:
    head = '<link rel="canonical" href="/monde/poutine-kim-traite.html">'
    result = extract_article(make_page(article_html(head=head)))
    assert (
        result.declared_canonical == "https://www.lequotidien.example/monde/poutine-kim-traite.html"
    )
    assert result.article.canonical_url == "https://www.lequotidien.example/monde/poutine-kim.html"


def test_og_url_is_a_declared_canonical_too() -> None:
    head = '<meta property="og:url" content="https://lequotidien.example/a/1">'
    assert extract_article(make_page(article_html(head=head))).declared_canonical == (
        "https://lequotidien.example/a/1"
    )


# --- language ---------------------------------------------------------------------------


def test_language_is_detected_when_undeclared() -> None:
    assert extract_article(make_page(article_html(lang=None))).article.language == "fr"


@pytest.mark.parametrize(
    "head",
    [
        '<meta property="og:locale" content="fr_FR">',
        '<meta http-equiv="content-language" content="fr-CA">',
    ],
)
def test_language_from_og_locale_or_content_language(head: str) -> None:
    assert extract_article(make_page(article_html(lang=None, head=head))).article.language == "fr"


def test_a_template_lang_is_overruled_by_long_unambiguous_text() -> None:
    # CMS themes ship lang="en" on French sites; 600 chars of French say otherwise.
    assert extract_article(make_page(article_html(lang="en"))).article.language == "fr"


def test_detect_language_helper_for_seed_texts() -> None:
    assert detect_language(" ".join(PARAGRAPHS)) == "fr"
    assert (
        detect_language("Путин прибыл в Пхеньян с государственным визитом, сообщает ТАСС.") == "ru"
    )
    assert detect_language("ok") is None


# --- noise ------------------------------------------------------------------------------


def test_noise_lines_that_survive_extraction_are_dropped() -> None:
    noise = """<p>Spread the love</p><p>Partagez</p><p>Lire aussi : Kim Jong-un en Russie</p>
    <p>PREV Israël, pause humanitaire à Gaza</p><p>NEXT Un responsable européen libéré</p>
    <p>Laisser un commentaire</p><p>Étiquettes</p><p>, , , ,</p>"""
    paragraphs = [
        PARAGRAPHS[0],
        PARAGRAPHS[1],
        "<span>Partagez</span>",
        PARAGRAPHS[2],
        PARAGRAPHS[3],
    ]
    html = article_html(body_extra=noise, paragraphs=paragraphs)
    text = extract_article(make_page(html)).article.text
    for line in (
        "Spread the love",
        "Partagez",
        "Lire aussi",
        "PREV",
        "NEXT",
        "Laisser",
        "Étiquettes",
        ", ,",
    ):
        assert line not in text
    assert text.splitlines() == PARAGRAPHS


def test_title_repeated_at_the_start_of_the_text_is_dropped() -> None:
    html = article_html(paragraphs=[f"<strong>{TITLE}</strong>", *PARAGRAPHS])
    text = extract_article(make_page(html)).article.text
    assert not text.startswith(TITLE)
    assert text.startswith(PARAGRAPHS[0])


# --- fallbacks --------------------------------------------------------------------------


def test_short_page_falls_back_to_the_feed_summary() -> None:
    html = article_html(paragraphs=["Vidéo : Poutine à Pyongyang."])
    result = extract_article(make_page(html), entry(), ExtractionSettings(min_text_chars=250))
    article = result.article
    assert article.extraction_method == METHOD_FEED
    assert article.text == (
        "Poutine à Pyongyang\nLe président russe est arrivé à Pyongyang & a rencontré Kim Jong-un."
    )
    assert article.title == TITLE  # the page's own metadata still counts


def test_short_page_without_entry_keeps_its_short_text() -> None:
    html = article_html(paragraphs=["Vidéo : Poutine à Pyongyang, où il rencontre Kim Jong-un."])
    article = extract_article(make_page(html), None, ExtractionSettings(min_text_chars=250)).article
    assert article.text == "Vidéo : Poutine à Pyongyang, où il rencontre Kim Jong-un."
    assert article.extraction_method in (METHOD_PRECISION, METHOD_RECALL)


def test_threshold_zero_never_falls_back() -> None:
    html = article_html(paragraphs=["Vidéo : Poutine à Pyongyang, où il rencontre Kim Jong-un."])
    article = extract_article(
        make_page(html), entry(), ExtractionSettings(min_text_chars=0)
    ).article
    assert article.extraction_method != METHOD_FEED


def test_entry_published_date_fills_a_missing_page_date() -> None:
    published = datetime(2024, 6, 19, 3, 0, tzinfo=UTC)
    result = extract_article(
        make_page(article_html(), url="https://x.example/a"), entry(published=published)
    )
    assert result.article.published_at == published
    assert result.published_day == date(2024, 6, 19)


def test_entry_date_beats_a_copyright_year_guess() -> None:
    published = datetime(2024, 6, 19, 3, 0, tzinfo=UTC)
    html = article_html(body_extra="<p>© 2024 Le Quotidien</p>")
    page = make_page(html, url="https://x.example/a")
    assert extract_article(page).published_day in (None, date(2024, 1, 1))
    assert extract_article(page, entry(published=published)).article.published_at == published


# --- the date printed beside the headline ------------------------------------------------


def header_page(header: str, *, before: str = "", h1: str = TITLE, head: str = "") -> PageMeta:
    """read_page_meta on a page whose headline block is ``before`` + h1 + ``header``."""
    html = f"""<html lang="fr"><head><title>{TITLE} | Le Quotidien</title>{head}</head><body>
<nav><a href="/">Accueil</a></nav><main><article>{before}<h1>{h1}</h1>{header}
{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article></main></body></html>"""
    return read_page_meta(parse_html(html))


def test_the_walks_from_the_headline_visit_document_order_both_ways() -> None:
    """header_date walks out from the headline instead of from the top of the page:
    before it, every node in reverse document order (ancestors included); after it,
    every node past its subtree, in document order. Checked from every node of a
    nested page with text, tails and empty elements."""
    tree = parse_html(
        "<html><head><title>t</title><meta name=a content=b></head><body>"
        "<div id=a><p>x<b>y</b>z</p><ul><li>1</li><li>2<i></i></li></ul></div>"
        "<section><h1>h<span>s</span></h1><time>t</time><div><div><p>q</p></div></div></section>"
        "<footer><p>f</p></footer></body></html>"
    )
    order = list(tree.iter())
    for i, node in enumerate(order):
        subtree = set(node.iter())
        assert list(_backwards(node)) == order[:i][::-1]
        assert list(_forwards(node)) == [n for n in order[i + 1 :] if n not in subtree]


def test_local_time_beside_the_headline_beats_the_utc_metadata_day() -> None:
    head = '<meta property="article:published_time" content="2023-11-09T05:30:59+00:00">'
    header = '<div class="byline">Publié : <time datetime="2023-11-08 23:30:59">8 nov.</time></div>'
    html = article_html(head=head).replace(f"<h1>{TITLE}</h1>", f"<h1>{TITLE}</h1>{header}")
    result = extract_article(make_page(html))
    assert result.published_day == date(2023, 11, 8)
    # The instant is still the declared one: only the stated day changes.
    assert result.article.published_at == datetime(2023, 11, 9, 5, 30, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<p class="meta">1. Februar 2022 , Daniel Dillenburg</p>', date(2022, 2, 1)),
        ("<span>Loïc Le Clerc | 30 septembre 2018</span>", date(2018, 9, 30)),
        ('<p class="date">Written: 2023-11-07 15:03:30<span> / </span>'
         "Updated: 2023-11-08 09:30:46</p>", date(2023, 11, 7)),
        ("<h6><span>3/5/2022 22:41</span></h6>", date(2022, 5, 3)),
        ('<p class="article-main__date">[2019年6月24日 11時30分]</p>', date(2019, 6, 24)),
        ('<div class="info">2023년 11월 7일 15:03</div>', date(2023, 11, 7)),
    ],
)  # fmt: skip
def test_printed_header_date_in_several_languages(header: str, expected: date) -> None:
    assert header_page(header).header_day == expected


def test_header_date_marked_only_by_time_or_date_named_elements() -> None:
    assert header_page('<time datetime="2022-01-21">21.01.2022</time>').header_marked
    assert header_page('<span class="post-date">21.01.2022</span>').header_marked
    plain = header_page("<span>21.01.2022</span>")
    assert plain.header_day == date(2022, 1, 21) and not plain.header_marked


def test_update_labelled_dates_are_skipped() -> None:
    meta = header_page("<p>Mis à jour le 19/02/2020</p><p><span>Publié le 12/02/2020</span></p>")
    assert meta.header_day == date(2020, 2, 12)
    assert header_page("<p>Updated: <time>Feb 19, 2020</time></p>").header_day is None


def test_date_above_the_headline_when_none_below() -> None:
    meta = header_page("", before='<div class="kicker">Monde · 6 May 2022 - 2:00 a. m.</div>')
    assert meta.header_day == date(2022, 5, 6)


def test_dates_in_the_headline_far_away_or_month_only_are_not_header_dates() -> None:
    assert header_page("", h1=f"{TITLE} le 12 mars 2020").header_day is None
    filler = "".join(f"<p>{i}</p>" for i in range(70))
    assert header_page(filler + '<time datetime="2020-03-12">12 mars</time>').header_day is None
    assert header_page("<p>Archives 2020-03</p>").header_day is None


def test_logo_h1_is_not_a_headline_and_a_matching_h2_is() -> None:
    page = f"""<html><head><meta property="og:title" content="{TITLE}"></head><body>
<h1>regards.fr</h1><p class="date">30 septembre 2018</p><h1>Rubriques</h1></body></html>"""
    assert read_page_meta(parse_html(page)).header_day is None
    page = page.replace("<h1>Rubriques</h1>", f"<h2>{TITLE}</h2><p>Par Loïc Le Clerc</p>")
    assert read_page_meta(parse_html(page)).header_day == date(2018, 9, 30)


def test_nearest_date_wins_and_blocks_holding_the_headline_are_skipped() -> None:
    above = '<span class="meta">Par Loïc Le Clerc | 30 septembre 2018</span>'
    below = "".join(f"<p>Paragraphe {i}.</p>" for i in range(5)) + "<p>4 décembre 2019</p>"
    assert header_page(below, before=above).header_day == date(2018, 9, 30)
    headline = "Poutine à Pyongyang le 12 mars 2020"
    html = f"""<html><head><title>{headline}</title></head><body><header>
<h1>{headline}</h1></header><p>Texte.</p></body></html>"""
    assert read_page_meta(parse_html(html)).header_day is None


def test_rfc2822_declared_date_keeps_its_offset() -> None:
    head = """<script type="application/ld+json">{"@type": "NewsArticle",
      "datePublished": "Tue, 4 May 2021 19:18:00 +0200"}</script>"""
    result = extract_article(make_page(article_html(head=head)))
    assert result.article.published_at == datetime(2021, 5, 4, 17, 18, tzinfo=UTC)
    assert result.published_day == date(2021, 5, 4)


def test_choose_published_header_agreement_rules() -> None:
    declared = datetime(2022, 5, 4, 2, 41, tzinfo=UTC)
    near = PageMeta(published=declared, header_day=date(2022, 5, 3))
    assert choose_published("2022-05-04", near) == (declared, date(2022, 5, 3))
    # A header date weeks away from the other sources is a teaser's or a D/M swap.
    far_day = date(2022, 5, 4) + timedelta(days=HEADER_MAX_DRIFT_DAYS + 1)
    far = PageMeta(published=declared, header_day=far_day, header_marked=True)
    assert choose_published("2022-05-04", far) == (declared, date(2022, 5, 4))
    # "5/6/2022" on a US page is read day-first (5 June): too far from May 6 to win.
    swapped = PageMeta(header_day=date(2022, 6, 5), header_marked=True)
    assert choose_published("2022-05-06", swapped)[1] == date(2022, 5, 6)
    assert header_page("<p>5/6/2022</p>").header_day == date(2022, 6, 5)
    # Up to the drift limit the header wins; the instant follows it when it is days off.
    moved = PageMeta(header_day=date(2022, 1, 21), header_marked=True)
    assert choose_published("2022-01-26", moved) == (
        datetime(2022, 1, 21, tzinfo=UTC),
        date(2022, 1, 21),
    )
    # Alone, only a marked header date is used.
    alone = PageMeta(header_day=date(2022, 1, 21))
    assert choose_published(None, alone) == (None, None)
    marked = PageMeta(header_day=date(2022, 1, 21), header_marked=True)
    assert choose_published(None, marked)[1] == date(2022, 1, 21)


# --- rejects ----------------------------------------------------------------------------


def test_empty_body_is_rejected_with_a_reason() -> None:
    with pytest.raises(ExtractionRejected) as caught:
        extract_article(make_page(b"   "))
    assert caught.value.reason == "empty_body"
    assert isinstance(caught.value, BadInputError)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (b'{"title": "not html"}', "application/json"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "application/octet-stream"),
        (b"Just a plain sentence, no markup at all.", "text/plain"),
    ],
)
def test_non_html_is_rejected(body: bytes, content_type: str) -> None:
    with pytest.raises(ExtractionRejected) as caught:
        extract_article(make_page(body, content_type=content_type))
    assert caught.value.reason == "not_html"


def test_non_html_with_a_feed_entry_uses_the_summary() -> None:
    page = make_page(b"%PDF-1.7", content_type="application/pdf")
    article = extract_article(page, entry()).article
    assert article.extraction_method == METHOD_FEED
    assert article.title == "Poutine à Pyongyang"
    assert article.canonical_url == page.final_url


def test_page_without_text_and_without_entry_is_rejected() -> None:
    html = (
        "<html><head><title>x</title></head><body><nav><a href='/'>Accueil</a></nav></body></html>"
    )
    with pytest.raises(ExtractionRejected) as caught:
        extract_article(make_page(html))
    assert caught.value.reason == "no_text"


def test_client_rendered_shell_is_rejected_not_extracted() -> None:
    shell = """<html ng-app="site"><head><title>Modification de page en cours</title></head>
    <body ng-controller="ContentCtrl"><div class="article">
    <h1>{{ctrl.content.title}}</h1>
    <div>{{ctrl.content.status === "published" ? "Contenu publié" : "Brouillon"}}</div>
    <p>{{ctrl.content.lastUpdateUser.fullName}} - {{ctrl.content.lastUpdateTime | date}}</p>
    <div ng-bind-html="ctrl.content.body">{{ctrl.content.body}}</div>
    </div></body></html>"""
    with pytest.raises(ExtractionRejected) as caught:
        extract_article(make_page(shell))
    assert caught.value.reason in ("client_rendered", "no_text")


def test_rejection_survives_pickling_with_its_reason() -> None:
    error = ExtractionRejected("no article text", "client_rendered")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ExtractionRejected)
    assert (str(copy), copy.reason) == ("no article text", "client_rendered")


def test_function_and_result_are_picklable_for_a_process_pool() -> None:
    result = extract_article(make_page(article_html()), entry())
    assert pickle.loads(pickle.dumps(result)) == result
    assert pickle.loads(pickle.dumps(extract_article)) is extract_article


@pytest.mark.parametrize(
    "html",
    [
        "<html>",
        "<html><body>" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "</body></html>",
        "<?xml version='1.0' encoding='iso-8859-1'?><html><body><p>é</p></body></html>",
        "<html><body>\x00\x01\x02<p>nul bytes</p></body></html>",
        "<html><head><script type='application/ld+json'>{not json</script></head>"
        "<body></body></html>",
    ],
)
def test_hostile_html_raises_only_bad_input(html: str) -> None:
    try:
        result = extract_article(make_page(html))
    except BadInputError:
        return
    assert isinstance(result.article.text, str)


# --- encodings through the whole path ---------------------------------------------------


def test_undeclared_cp1251_russian_page() -> None:
    text = (
        "Президент России Владимир Путин прибыл в Пхеньян с государственным визитом. "
        "Стороны подписали договор о всеобъемлющем стратегическом партнёрстве. "
    )
    html = article_html(
        lang=None, paragraphs=[text * 2, text * 2], h1="Путин в Пхеньяне", title="Путин"
    )
    html = html.replace('<meta charset="utf-8">', "")
    result = extract_article(make_page(html.encode("cp1251")))
    assert result.encoding == "cp1251"
    assert result.article.language == "ru"
    assert "Путин прибыл в Пхеньян" in result.article.text


def test_euc_kr_korean_page_declared_in_meta() -> None:
    text = (
        "블라디미르 푸틴 러시아 대통령이 평양에 도착했다. 양측은 포괄적 전략적 동반자 관계 "
        "조약에 서명했다고 조선중앙통신이 보도했다. 김정은 위원장이 공항에서 영접했다. "
    )
    html = article_html(
        lang=None, paragraphs=[text * 2, text * 2], h1="푸틴 평양 도착 조약 서명", title="푸틴"
    )
    html = html.replace('<meta charset="utf-8">', '<meta charset="euc-kr">')
    result = extract_article(make_page(html.encode("euc-kr")))
    assert result.encoding == "cp949"
    assert result.article.language == "ko"
    assert "평양에 도착했다" in result.article.text


def test_cp1252_page_wrongly_declared_utf8_by_the_server() -> None:
    html = article_html().replace('<meta charset="utf-8">', "")
    result = extract_article(make_page(html.encode("cp1252"), encoding="utf-8"))
    assert result.encoding == "cp1252"
    assert PARAGRAPHS[2] in result.article.text


def test_seed_files_parse_without_error(seed_dir: Path) -> None:
    # Seeds are plain text; wrapped as the simplest page they still extract.
    for path in sorted(seed_dir.glob("*.txt")):
        paragraphs = "".join(f"<p>{line}</p>" for line in path.read_text("utf-8").splitlines())
        html = f"<html><head><title>seed</title></head><body><article>{paragraphs}</article>"
        article = extract_article(make_page(html, url=f"https://seed.example/{path.stem}")).article
        assert article.language == "fr"
        assert (
            "Spread the love" not in article.text and "Laisser un commentaire" not in article.text
        )


# --- the noise list, language codes, title/author helpers -------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Spread the love",
        "Partagez",
        "Partager sur Facebook",
        "Lire aussi : Kim Jong-un en Russie",
        "À lire également",
        "PREV Israël, pause humanitaire à Gaza",
        "NEXT Un responsable européen libéré en Iran",
        "Laisser un commentaire",
        "Votre adresse e-mail ne sera pas publiée. Les champs obligatoires sont indiqués avec *",
        "Étiquettes",
        "Leave a reply",
        "Read more: Putin visits Pyongyang",
        "Lesen Sie auch: Putin in Nordkorea",
        "Artikel teilen",
        "Lee también: Putin en Corea del Norte",
        "Compartir en Twitter",
        "Leggi anche",
        "Condividi su Facebook",
        "Читайте также: Путин в Пхеньяне",
        "Поделиться",
        "관련기사",
        "공유하기",
        "댓글 3",
        ", , , ,",
        "{{ctrl.content.title}}",
    ],
)
def test_noise_line_in_each_language(line: str) -> None:
    assert is_noise_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Next week, the two leaders will meet again in Vladivostok, officials said.",
        "Lire aussi les déclarations du Kremlin permet de comprendre la position russe.",
        "Partagez-vous l'analyse du ministre ? Les experts sont divisés sur ce point.",
        "Kim Jong-un",
    ],
)
def test_prose_is_not_noise(line: str) -> None:
    assert not is_noise_line(line)


def test_layout_table_rows_are_unwrapped() -> None:
    assert drop_noise_lines("|  | Les Français travaillent-ils trop peu ? |") == (
        "Les Français travaillent-ils trop peu ?"
    )
    assert drop_noise_lines("| 2023 | 12 % |") == "| 2023 | 12 % |"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("fr-FR", "fr"), ("fr_CA", "fr"), ("EN-us", "en"), ("ko", "ko"), ("rus", "ru"),
     ("iw", "he"), ("zh-Hans", "zh"), ("xx", None), ("", None), (None, None)],
)  # fmt: skip
def test_normalize_language(value: str | None, expected: str | None) -> None:
    assert normalize_language(value) == expected


def test_strip_site_name_only_removes_the_site_part() -> None:
    assert strip_site_name("Poutine à Pyongyang | Le Quotidien", "Le Quotidien") == (
        "Poutine à Pyongyang"
    )
    assert strip_site_name("Le Monde - Poutine à Pyongyang", "Le Monde") == "Poutine à Pyongyang"
    assert (
        strip_site_name("Corée : Poutine à Pyongyang", "Le Monde") == "Corée : Poutine à Pyongyang"
    )
    assert strip_site_name("Vegolosi.it - x", "", "www.vegolosi.it") == "Vegolosi.it - x"


def test_choose_author_drops_placeholders() -> None:
    assert choose_author("No Author", PageMeta(author="Anne Roy"), "Site") == "Anne Roy"
    assert choose_author("Le Quotidien", PageMeta(), "Le Quotidien") == "Le Quotidien"


def test_control_characters_and_noncharacters_are_dropped_and_nothing_else() -> None:
    """The bytes-level deletion in parse_html against the obvious regex, on random text
    mixing C0 controls, U+FFFE/U+FFFF, accents, CJK and emoji."""
    import random
    import re

    from monitor.extract import parse_html

    oracle = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
    alphabet = [chr(c) for c in range(0x20)] + list("aé中😀\ufffe\uffff\ufffd\u00ff\u0100")
    rng = random.Random(6)
    for _ in range(200):
        body = "".join(rng.choice(alphabet) for _ in range(60)).replace("<", "").replace("&", "")
        tree = parse_html(f"<html><body><p>x{body}x</p></body></html>")
        expected = oracle.sub("", f"x{body}x").replace("\r\n", "\n").replace("\r", "\n")
        assert tree.findtext(".//p") == expected

"""Charset decisions on declared, undeclared and wrongly declared pages."""

from __future__ import annotations

import codecs
import random

import pytest

from monitor.decode import decode_html, normalize_charset, sniff_declared_charset

FRENCH = (
    "Le président russe est arrivé à Pyongyang, où il a été accueilli par Kim Jong-un. "
    "Les deux dirigeants ont signé un traité de partenariat stratégique global, "
    "a annoncé l’agence officielle. « C’est une étape décisive », a déclaré le Kremlin."
)
RUSSIAN = (
    "Президент России Владимир Путин прибыл в Пхеньян с государственным визитом. "
    "Стороны подписали договор о всеобъемлющем стратегическом партнёрстве, сообщает агентство."
)
KOREAN = (
    "블라디미르 푸틴 러시아 대통령이 평양에 도착했다. 양측은 포괄적 전략적 동반자 관계 "
    "조약에 서명했다고 조선중앙통신이 보도했다. 김정은 위원장이 공항에서 영접했다."
)
POLISH = (
    "Prezydent Rosji przybył do Pjongjangu z wizytą państwową. Strony podpisały traktat "
    "o wszechstronnym partnerstwie strategicznym. Zażółć gęślą jaźń, powiedział rzecznik."
)


def page(text: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head>{head}<title>t</title></head><body><p>{text}</p></body></html>"
    )


def test_plain_utf8_with_no_declaration() -> None:
    html = page(FRENCH)
    assert decode_html(html.encode("utf-8"), None) == (html, "utf-8")


def test_utf8_wins_over_a_wrong_latin1_header() -> None:
    html = page(FRENCH, '<meta charset="utf-8">')
    assert decode_html(html.encode("utf-8"), "iso-8859-1") == (html, "utf-8")


def test_cp1252_page_declared_utf8_in_header_and_meta() -> None:
    html = page(FRENCH, '<meta charset="utf-8">')
    text, encoding = decode_html(html.encode("cp1252"), "utf-8")
    assert encoding == "cp1252"
    assert text == html


def test_latin1_declared_page_decodes_as_windows_1252() -> None:
    # Browsers read "iso-8859-1" as windows-1252: curly quotes live in 0x80-0x9F.
    html = page(FRENCH, '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">')
    text, encoding = decode_html(html.encode("cp1252"), None)
    assert encoding == "cp1252"
    assert "l’agence" in text and "« C’est" in text


def test_undeclared_cp1251_russian_is_detected() -> None:
    html = page(RUSSIAN)
    text, encoding = decode_html(html.encode("cp1251"), None)
    assert encoding == "cp1251"
    assert text == html


def test_cp1251_wrongly_declared_as_latin1_is_not_mojibake() -> None:
    html = page(RUSSIAN)
    text, encoding = decode_html(html.encode("cp1251"), "iso-8859-1")
    assert encoding == "cp1251"
    assert "Путин" in text


def test_declared_cp1251_is_used_directly() -> None:
    html = page(RUSSIAN, '<meta charset="windows-1251">')
    assert decode_html(html.encode("cp1251"), None) == (html, "cp1251")


def test_euc_kr_declared_in_meta_decodes_with_cp949() -> None:
    html = page(KOREAN, '<meta http-equiv="content-type" content="text/html; charset=euc-kr">')
    assert decode_html(html.encode("euc-kr"), None) == (html, "cp949")


def test_undeclared_euc_kr_korean_is_detected() -> None:
    html = page(KOREAN)
    text, _ = decode_html(html.encode("euc-kr"), None)
    assert text == html


def test_undeclared_french_cp1252_is_not_read_as_central_european() -> None:
    # charset_normalizer ranks cp1250 first here ("à" would become "ŕ").
    html = page(FRENCH)
    text, encoding = decode_html(html.encode("cp1252"), None)
    assert encoding == "cp1252"
    assert "arrivé à Pyongyang" in text


def test_undeclared_polish_cp1250_keeps_its_letters() -> None:
    html = page(POLISH)
    text, encoding = decode_html(html.encode("cp1250"), None)
    assert encoding == "cp1250"
    assert "Zażółć gęślą jaźń" in text


def test_nearly_valid_utf8_with_a_truncated_character_stays_utf8() -> None:
    body = page(FRENCH * 2).encode("utf-8")
    truncated = body.replace(b"Pyongyang", b"Pyongyang" + "é".encode()[:1], 1)
    text, encoding = decode_html(truncated, "iso-8859-1")
    assert encoding == "utf-8"
    assert text.count("\ufffd") == 1
    assert "arrivé" in text


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
)
def test_byte_order_mark_decides(bom: bytes, codec: str) -> None:
    html = page(FRENCH)
    text, encoding = decode_html(bom + html.encode(codec), "iso-8859-1")
    assert (text, encoding) == (html, codec)


def test_iso_2022_jp_declared_is_honoured_although_it_is_ascii() -> None:
    html = page("ロシアと北朝鮮の首脳会談", '<meta charset="iso-2022-jp">')
    text, encoding = decode_html(html.encode("iso-2022-jp"), None)
    assert encoding == "iso2022_jp"
    assert "首脳会談" in text


def test_random_bytes_never_raise() -> None:
    rng = random.Random(7)
    for size in (0, 1, 17, 4096):
        body = bytes(rng.randrange(256) for _ in range(size))
        text, encoding = decode_html(body, rng.choice([None, "utf-8", "bogus", "euc-kr"]))
        assert isinstance(text, str) and encoding


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
        (" 'ISO-8859-1' ", "cp1252"),
        ("latin1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("windows-1251", "cp1251"),
        ("EUC-KR", "cp949"),
        ("gb2312", "gb18030"),
        ("Shift_JIS", "cp932"),
        ("utf-16", "utf-8"),
        ("x-no-such-charset", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_charset(label: str | None, expected: str | None) -> None:
    assert normalize_charset(label) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<meta charset="windows-1251">', "cp1251"),
        (b"<meta charset=euc-kr>", "cp949"),
        (b'<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-2">', "iso8859-2"),
        (b'<meta name="description" content="no charset here">', None),
    ],
)
def test_sniff_declared_charset(head: bytes, expected: str | None) -> None:
    assert (
        sniff_declared_charset(b"<html><head>" + head + b"</head><body></body></html>") == expected
    )


def test_sniff_xml_declaration_of_xhtml() -> None:
    body = b'<?xml version="1.0" encoding="koi8-r"?>\n<html><head></head><body></body></html>'
    assert sniff_declared_charset(body) == "koi8-r"

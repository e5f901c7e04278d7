"""Turn fetched HTML bytes into text exactly once, with an explicit charset decision.

Servers and pages lie about their encoding often enough that trusting one source
produces mojibake on real feeds: a CMS template says ``utf-8`` while the article
was pasted in cp1252, a server defaults to ``iso-8859-1`` for UTF-8 pages, an old
Russian site declares nothing at all. The order below is what survives those
cases, tested in ``tests/unit/test_decode.py``:

1. a byte-order mark;
2. valid UTF-8 (or UTF-8 with a handful of broken sequences, e.g. a truncated
   character in a teaser): random single-byte text almost never forms valid
   multi-byte sequences, so this beats any declaration;
3. the HTTP header charset, then ``<meta charset>`` / http-equiv / the XML
   declaration, each only if it decodes the bytes strictly and, for the Western
   single-byte family, does not produce the typical Cyrillic-as-Latin-1 mojibake;
4. detection with charset_normalizer, its candidates re-ranked by how plausible
   the decoded letters are (it cannot tell French cp1252 from cp1250 on its own);
5. cp1252 with replacement characters, so hostile input never raises.

Labels follow the WHATWG mapping browsers use (``iso-8859-1`` and ``ascii``
mean windows-1252, ``euc-kr`` means cp949...), since that is what publishers
test their pages against.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

__all__ = ["decode_html", "normalize_charset", "sniff_declared_charset"]

# Browsers decode these labels as a superset; so must we, or we fail on bytes
# the publisher never noticed were outside the declared set.
_WHATWG_SUPERSETS = {
    "ascii": "cp1252",
    "latin_1": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "euc_kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
}
_UTF8_NAMES = {"utf-8", "utf-8-sig"}
_WESTERN_SINGLE_BYTE = {"cp1252", "iso8859-15", "latin_1", "cp850", "mac-roman"}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it shares the first two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SNIFF_BYTES = 32_768
_META_CHARSET = re.compile(
    rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]{2,40})""", re.IGNORECASE
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_:.+-]{2,40})""")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Mojibake of Cyrillic/Greek/Arabic text read as a Western single-byte charset:
# whole words made only of Latin-1 letters such as "Ïðåçèäåíò".
_LATIN1_LETTERS = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff"
_LATIN1_WORD = re.compile(f"(?<![A-Za-z])[{_LATIN1_LETTERS}]{{3,}}(?![A-Za-z])")
_ANY_LATIN1_WORD = re.compile(f"[A-Za-z]*[{_LATIN1_LETTERS}][A-Za-z{_LATIN1_LETTERS}]*")
# Letters and punctuation that real text in the Latin, Cyrillic and Greek
# scripts uses; symbols like "ŕ", "³" or "¹" appearing instead mean a wrong code page.
_PLAUSIBLE = set(
    "àâäáãåæçéèêëíìîïñóòôöõøœúùûüýÿßÀÂÄÁÃÅÆÇÉÈÊËÍÌÎÏÑÓÒÔÖÕØŒÚÙÛÜÝŸ"
    "ąćęłńśźżĄĆĘŁŃŚŹŻčďěňřšťůžČĎĚŇŘŠŤŮŽőűŐŰğışĞİŞ"
    "’‘“”«»–—…€•°·©®"
)


def normalize_charset(label: str | None) -> str | None:
    """Python codec name for an HTTP/HTML charset label, None when unknown.

    UTF-16/32 labels without a BOM are what WHATWG calls a lie (HTML cannot be
    sniffed as ASCII-compatible otherwise), so they map to UTF-8 like in browsers.
    """
    if not label:
        return None
    cleaned = label.strip().strip("\"'").lower()
    if not cleaned:
        return None
    try:
        name = codecs.lookup(cleaned).name
    except LookupError:
        return None
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return _WHATWG_SUPERSETS.get(name, name)


def sniff_declared_charset(body: bytes) -> str | None:
    """The charset a page declares in its own markup (meta or XML declaration)."""
    head = body[:_SNIFF_BYTES]
    for pattern in (_XML_DECL, _META_CHARSET):
        match = pattern.search(head)
        if match:
            label = match.group(1).decode("ascii", "ignore")
            name = normalize_charset(label)
            if name is not None:
                return name
    return None


def decode_html(body: bytes, header_encoding: str | None) -> tuple[str, str]:
    """Decode page bytes once; return the text and the codec name that produced it."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, "replace"), name
    declared = [normalize_charset(header_encoding), sniff_declared_charset(body)]
    candidates = [c for i, c in enumerate(declared) if c and c not in declared[:i]]
    # 7-bit stateful encodings are valid ASCII, so they must be honoured first.
    if b"\x1b$" in body:
        for name in candidates:
            if name.startswith("iso2022"):
                decoded = _strict(body, name)
                if decoded is not None:
                    return decoded, name
    utf8 = _utf8_or_nearly(body)
    if utf8 is not None:
        return utf8, "utf-8"
    for name in candidates:
        if name in _UTF8_NAMES:
            continue
        decoded = _strict(body, name)
        if decoded is not None and not (name in _WESTERN_SINGLE_BYTE and _misdecoded(decoded)):
            return decoded, name
    detected = _detect(body)
    if detected is not None:
        return detected
    return body.decode("cp1252", "replace"), "cp1252"


def _strict(body: bytes, name: str) -> str | None:
    try:
        return body.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None


def _utf8_or_nearly(body: bytes) -> str | None:
    """UTF-8 text, tolerating a few broken sequences among many valid ones."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = body.decode("utf-8", "replace")
    broken = text.count("\ufffd")
    valid = len(_NON_ASCII.findall(text)) - broken
    # Real single-byte text is almost never valid UTF-8 by accident: its accented
    # letters are broken sequences, so a 1-in-10 ratio is far from both cases.
    if valid >= 10 and broken * 10 <= valid:
        return text
    return None


def _misdecoded(text: str) -> bool:
    """Cyrillic-, Greek- or Arabic-as-Latin-1: most accented words are all accents."""
    suspicious = len(_LATIN1_WORD.findall(text))
    if suspicious < 5:
        return False
    accented = len(_ANY_LATIN1_WORD.findall(text))
    return suspicious * 2 > accented


def _plausibility(text: str) -> float:
    """Share of non-ASCII characters that are common letters or punctuation."""
    chars = _NON_ASCII.findall(text)
    good = 0
    for char in chars:
        if char in _PLAUSIBLE or "\u0400" <= char <= "\u04ff" or "\u0370" <= char <= "\u03ff":
            good += 1
    return good / len(chars) if chars else 1.0


def _detect(body: bytes) -> tuple[str, str] | None:
    """charset_normalizer's strict-decoding candidates, most plausible first.

    Its ranking stays the tie-breaker (CJK candidates all score alike here).
    """
    best: tuple[float, int, str, str] | None = None
    for rank, match in enumerate(from_bytes(body)):
        name = normalize_charset(match.encoding)
        if name is None or name in _UTF8_NAMES:
            continue
        decoded = _strict(body, name)
        if decoded is None:
            continue
        key = (_plausibility(decoded), -rank)
        if best is None or key > best[:2]:
            best = (key[0], key[1], decoded, name)
        if rank >= 5:
            break
    if best is None:
        return None
    return best[2], best[3]

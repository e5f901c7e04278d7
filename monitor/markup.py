"""Showing stored text safely: links, Markdown, CSV cells.

Titles, authors, sites, URLs and reasons come from other people's pages, some
of them hostile. Every output that interprets its text (an HTML page, a
Markdown artifact the Prefect UI renders, a spreadsheet opening a CSV, a chat
message) passes stored values through one of these functions, so a title can
only ever show up as the characters it contains: never as a tag, a link, an
image, a table column or a formula. One module keeps the rules in one place,
and the tests feed every output the same hostile article.

Links: only absolute ``http``/``https`` URLs with a host ever become a link
target (:func:`http_href`); a stored ``javascript:`` or ``data:`` URL is shown
as text.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_LINK_SCHEMES = ("http", "https")

# Markdown: every ASCII punctuation character that can start or end an inline
# construct is backslash-escaped; ``<``, ``>`` and ``&`` become entities so no
# raw HTML survives even in renderers that allow it (and entities are read as
# plain characters by every CommonMark renderer).
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_PUNCTUATION = frozenset("\\`*_{}[]()#!|~")
# At the start of a list item these open a nested list: "- - x", "+ x", "1. x".
_MD_BLOCK_START = re.compile(r"^([-+]|\d{1,9}[.)])(?=\s|$)")
# Link destinations: everything that could end the destination, break a table
# row or open markup is percent-encoded.
_URL_SAFE = "/:?#@!$&*+,;=%~-._"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def http_href(url: str | None) -> str | None:
    """``url`` (stripped) if it is an absolute http(s) URL with a host, else None.

    Browsers ignore leading blanks and tabs inside the scheme
    (``java\\tscript:``), and so does :func:`urllib.parse.urlsplit`, so the
    scheme checked here is the one a browser would act on.
    """
    if not url:
        return None
    text = url.strip()
    if any(not c.isprintable() for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:  # "http://[::1": a browser would not follow it either
        return None
    if parts.scheme.lower() not in _LINK_SCHEMES or not parts.hostname:
        return None
    return text


def md_text(value: object) -> str:
    """``value`` as Markdown inline text that renders exactly as its characters.

    Whitespace (newlines included) collapses to single spaces, so the result
    can go in a table cell, a heading or a list item without ending it.
    """
    text = " ".join(str(value).split())
    head = ""
    match = _MD_BLOCK_START.match(text)
    if match is not None and match.group(1)[-1] in "-+.":  # "- x" -> "\\- x", "1. x" -> "1\\. x"
        cut = match.end() - 1
        head, text = text[:cut] + "\\" + text[cut], text[cut + 1 :]
    return head + "".join(_md_char(char) for char in text)


def _md_char(char: str) -> str:
    if char in _MD_ENTITIES:
        return _MD_ENTITIES[char]
    if char in _MD_PUNCTUATION:
        return "\\" + char
    return char


def md_url(url: str) -> str:
    """A link destination that cannot end early, break a table row or carry markup."""
    return quote(url, safe=_URL_SAFE)


def md_link(text: object, url: str | None) -> str:
    """``[text](url)`` when ``url`` is http(s), else the text alone (no link at all)."""
    href = http_href(url)
    label = md_text(text) or md_text(url or "")
    if href is None:
        return label
    return f"[{label or md_text(href)}]({md_url(href)})"


def md_code_block(text: str) -> str:
    """``text`` in a fenced code block whose fence no line of ``text`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def csv_cell(value: object) -> object:
    """A cell a spreadsheet cannot run as a formula (CSV injection).

    Text starting with ``= + - @``, a tab or a carriage return gets a leading
    apostrophe, which spreadsheets hide and treat as "this is text". Numbers
    are left alone. The JSON Lines export keeps every value byte for byte.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value

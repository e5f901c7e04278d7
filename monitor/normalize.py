"""Text normalization for fingerprints and for cleaning extracted text.

The same wire story reaches us through many sites, each wrapping it in its own
furniture: share buttons ("Partagez", "Spread the love"), tag rails
("Étiquettes"), "read also" links, previous/next navigation, comment forms. It
also arrives with other quote and dash characters, other spacing, the title
repeated above the body. None of that is the article, so none of it may move a
hash or a sketch. Two layers:

* :func:`clean_lines` keeps the text readable (case, punctuation) and only drops
  noise lines and repeated titles: the extraction stage stores its output.
* :func:`normalize_text` is for machines only: NFKC, casefold, one quote, one
  dash, spaces around punctuation removed, invisible characters gone, noise and
  short edge lines (bylines, site names) dropped. Paragraphs stay on their own
  line because verification aligns paragraphs and sentences.

Noise detection is deliberately conservative: a line is noise only when it is
short and made of a known phrase (several languages), or carries no letters at
all. A body sentence that merely *contains* "lire aussi" is kept.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from monitor import noise

# Characters NFKC leaves alone but that differ between copies of one text.
_QUOTES = "«»‹›“”„‟〝〞〟＂「」『』"
_APOSTROPHES = "‘’‚‛′`´ʼʹ＇"
_DASHES = "‐‑‒–—―−﹘﹣－⸺⸻"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"
_REPLACEMENT = {
    **dict.fromkeys(_QUOTES, '"'),
    **dict.fromkeys(_APOSTROPHES, "'"),
    **dict.fromkeys(_DASHES, "-"),
    **dict.fromkeys(_INVISIBLE, ""),
}
_UNIFY = re.compile("[" + "".join(_REPLACEMENT) + "]")
_TIGHTEN = (
    (' "', '"'),
    ('" ', '"'),
    *((" " + p, p) for p in ",.;:!?%)]"),
    ("( ", "("),
    ("[ ", "["),
)
_HAS_LETTER = re.compile(r"[^\W\d_]")

# Which short lines are site furniture (share, tags, related, comments, pager...)
# is decided in one place for extraction and fingerprints alike: monitor.noise.
_TRAILING_JUNK = re.compile(r"[\s:.!?…>»›→\-|•·*\"]+$")
_LEADING_JUNK = re.compile(r"^[\s<«‹←\-|•·*>\"]+")
# Edge lines this short without sentence punctuation are bylines, site names, dates.
_EDGE_MAX_WORDS = 4
_EDGE_MAX_CHARS = 40  # CJK lines have few spaces: a long one is prose
_SENTENCE_END = re.compile(r"[.!?。！？…\"']$")


def _fold(text: str) -> str:
    """NFKC + unified quotes/dashes + casefold, on a whole text (one pass each)."""
    text = unicodedata.normalize("NFKC", text)
    return _UNIFY.sub(lambda m: _REPLACEMENT[m.group()], text).casefold()


def _fold_line(line: str) -> str:
    """The comparable form of one line: folded, single spaces."""
    return " ".join(_fold(line).split())


def _is_noise(raw: str, folded: str) -> bool:
    """``folded`` drives the cheap structural checks, ``raw`` (case kept) the phrase list:
    "PREV <headline>" is a pager, "prev..." in running text is not."""
    if not folded:
        return True
    if len(folded) > 300:
        return False  # furniture is short; skip the regexes on real paragraphs
    if not _HAS_LETTER.search(folded):
        return True  # ", , , ," tag rails, separators, lone numbers
    core = _LEADING_JUNK.sub("", _TRAILING_JUNK.sub("", folded))
    return not core or noise.is_noise_line(raw)


def is_noise_line(line: str) -> bool:
    """True for share/comment/navigation/tag lines and lines without letters.

    Short lines only: furniture is a few words, and a long line that happens to
    start with "Share" is a sentence of the article.
    """
    return _is_noise(line, _fold_line(line))


def _same_as_title(folded: str, folded_title: str) -> bool:
    return bool(folded_title) and folded.rstrip(" .") == folded_title.rstrip(" .")


def _split_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def clean_lines(text: str, title: str = "") -> str:
    """Drop noise lines and repeats of the title; keep the rest as written.

    For display and storage (case and punctuation kept). Blank lines collapse so
    paragraphs stay one per line; consecutive identical lines keep one copy.
    """
    raw_lines = _split_lines(text)
    folded_lines = _split_lines(_fold(text))
    if len(folded_lines) != len(raw_lines):  # NFKC never adds newlines; be safe anyway
        folded_lines = [_fold(line) for line in raw_lines]
    folded_title = _fold_line(title)
    kept: list[str] = []
    previous = ""
    for raw, folded_raw in zip(raw_lines, folded_lines, strict=True):
        folded = " ".join(folded_raw.split())
        if _is_noise(raw, folded) or _same_as_title(folded, folded_title):
            continue
        if folded != previous:
            kept.append(" ".join(raw.split()))
        previous = folded
    return "\n".join(kept)


def _trim_edges(lines: list[str]) -> list[str]:
    """Drop short unpunctuated lines at the start and end (bylines, site names)."""

    def is_edge_junk(line: str) -> bool:
        return (
            len(line) <= _EDGE_MAX_CHARS
            and len(line.split()) <= _EDGE_MAX_WORDS
            and not _SENTENCE_END.search(line)
        )

    start, end = 0, len(lines)
    while start < end and is_edge_junk(lines[start]):
        start += 1
    while end > start and is_edge_junk(lines[end - 1]):
        end -= 1
    return lines[start:end] if start < end else lines


def fold_punctuation(text: str) -> str:
    """Remove the spacing differences typography adds around quotes and punctuation.

    Expects single spaces (as produced by the line folding); plain ``str.replace``
    is several times faster than a regex here and this runs on every article.
    """
    for spaced, tight in _TIGHTEN:
        if spaced in text:
            text = text.replace(spaced, tight)
    return text


def normalize_text(text: str, title: str = "") -> str:
    """The machine form used by hashes, sketches and verification.

    NFKC, casefold, quotes/dashes unified, noise lines and title repeats
    dropped, edge bylines trimmed, whitespace folded; paragraphs joined by
    ``"\\n"``. Idempotent: normalizing twice gives the same string.
    """
    folded_title = fold_punctuation(_fold_line(title))
    lines: list[str] = []
    previous = ""
    raw_lines = _split_lines(text)
    folded_lines = _split_lines(_fold(text))
    if len(folded_lines) != len(raw_lines):  # NFKC never adds newlines; be safe anyway
        folded_lines = [_fold(line) for line in raw_lines]
    for raw, line in zip(raw_lines, folded_lines, strict=True):
        folded = " ".join(line.split())
        if _is_noise(raw, folded):
            continue
        folded = fold_punctuation(folded)
        if _same_as_title(folded, folded_title) or folded == previous:
            continue
        lines.append(folded)
        previous = folded
    return "\n".join(_trim_edges(lines))


def normalize_title(title: str) -> str:
    """Titles compare on their folded form, with the site suffix/prefix kept.

    Verification strips decorations itself (see ``monitor.dedup``); keeping the
    full string here makes the stored form predictable.
    """
    return fold_punctuation(_fold_line(title))


def text_hash(normalized: str) -> str:
    """sha256 hex of the normalized text: the exact-duplicate key."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def title_from_document(raw: str) -> tuple[str, str]:
    """Split a scraped document into (title, body): the first non-noise line is the title.

    Seeds and hand-saved pages put the headline on the first real line and
    often repeat it just below; the repeats are removed from the body.
    """
    lines = _split_lines(raw)
    for index, line in enumerate(lines):
        line = _DATE_LABEL.sub("", line).strip()
        if line and not is_noise_line(line):
            if len(line) <= MAX_TITLE_CHARS:
                body = clean_lines("\n".join(lines[index + 1 :]), title=line)
                return line, body
            # No headline line: the document opens with its lead paragraph. Its first
            # sentence serves as the title and the paragraph stays in the body.
            sentence = _FIRST_SENTENCE.match(line)
            title = sentence.group(1).strip() if sentence else line[:MAX_TITLE_CHARS]
            body = clean_lines("\n".join([line, *lines[index + 1 :]]))
            return title[:MAX_TITLE_CHARS].rstrip(), body
    return "", ""


MAX_TITLE_CHARS = 200
# A scraped "date 2023-09" / "Date : 12/06/2024" label glued before the first line.
_DATE_LABEL = re.compile(
    r"^\s*(?:date|datum|fecha|data|дата)\s*[:.]?\s*\d{1,4}(?:[-/.]\d{1,2}){1,2}\b\s*",
    re.IGNORECASE,
)
_FIRST_SENTENCE = re.compile(r"^(.{20,}?[.!?…])(?:\s|$)")

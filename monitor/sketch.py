"""Fingerprints: the exact hash and the MinHash-LSH band keys of an article.

Why MinHash-LSH: candidate retrieval must never scan the archive. Each article
gets a few dozen 64-bit *band keys*; two texts share a key with a probability
that rises steeply with the Jaccard similarity of their word 3-shingles, and a
``key IN (...)`` lookup on an indexed table costs the same at ten thousand or a
million stored articles. Keys are plain integers, so every worker on every
machine shares the index through the database.

Two sketches, because reposts come in two shapes:

* **body** (80 hashes, 20 bands of 4 rows): near-copies (other boilerplate, a
  paragraph dropped or added, typos) keep a shingle Jaccard of 0.6-0.95, which
  a band catches with probability 0.93-1.0 (0.73 at 0.5). Different articles
  on the same event share a few percent of shingles (named entities, stock
  phrases): about one chance in 10^4 to share a band, and verification rejects
  those anyway.
* **lead** (30 hashes, 10 bands of 3 rows) over the first 50 words of the
  substantive paragraphs: a truncated teaser has a body Jaccard of only 0.3-0.5
  against the full article, but the same lead, so lead keys find it (and the
  full article finds an earlier teaser the same way). Short header lines
  (breadcrumbs, datelines, bylines: no final punctuation) are skipped so
  another site's furniture does not shift the lead.

30 keys an article in all (30 million index rows at a million articles, what
``benchmarks/dedup_scale.py`` loads).

Tokens are words, except in scripts written without spaces (Chinese, Japanese
kana, Thai, Lao, Khmer, Myanmar) where each character is a token: a 3-shingle of
characters is about a two-word phrase, which keeps the sketch meaningful there.
Korean is spaced and uses word tokens.

Hashes are stable across processes and machines (crc32 of UTF-8 tokens mixed
with fixed odd multipliers, blake2b for band keys), never Python's ``hash``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.normalize import normalize_text, normalize_title, text_hash

SHINGLE = 3
BODY_BANDS, BODY_ROWS = 20, 4
LEAD_BANDS, LEAD_ROWS = 10, 3
LEAD_TOKENS = 50
LEAD_LINE_MIN_TOKENS = 8
MIN_SKETCH_TOKENS = 12
# Verification works on bounded text: this much normalized body travels with the fingerprint.
EXCERPT_CHARS = 12_000

_SCRIPTIO_CONTINUA = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\U00020000-\U0002fa1f"
)
_PROSE_END = re.compile(r"[.!?。！？…\"')]$")
_TOKEN = re.compile(rf"[{_SCRIPTIO_CONTINUA}]|[^\W{_SCRIPTIO_CONTINUA}]+")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Everything dedup needs about one article, computable in a worker process.

    ``keys`` go into the shared index; ``title``/``body`` (normalized, body
    capped at ``EXCERPT_CHARS``) feed verification so the check never
    re-normalizes the incoming article; ``words`` gates the short-text rules.
    """

    text_hash: str
    keys: tuple[int, ...]
    title: str = ""
    body: str = ""
    words: int = 0


def tokens(normalized: str) -> list[str]:
    """Words, or single characters in scripts without spaces."""
    return _TOKEN.findall(normalized)


def _substantive(line: str, toks: list[str]) -> bool:
    """Prose, not furniture: long enough, and a sentence (or long enough not to care)."""
    if len(toks) < LEAD_LINE_MIN_TOKENS:
        return False
    return len(toks) >= 3 * LEAD_LINE_MIN_TOKENS or _PROSE_END.search(line) is not None


def lead_tokens(normalized: str) -> list[str]:
    """The first LEAD_TOKENS tokens of the substantive paragraphs."""
    lead: list[str] = []
    short: list[str] = []
    for line in normalized.split("\n"):
        toks = tokens(line[: LEAD_TOKENS * 40])
        if _substantive(line, toks):
            lead.extend(toks)
        elif len(short) < LEAD_TOKENS:
            short.extend(toks)
        if len(lead) >= LEAD_TOKENS:
            break
    return (lead or short)[:LEAD_TOKENS]


def sketch_keys(normalized: str, toks: list[str] | None = None) -> tuple[int, ...]:
    """Body and lead band keys; none for texts too short to sketch reliably."""
    toks = tokens(normalized) if toks is None else toks
    if len(toks) < MIN_SKETCH_TOKENS:
        return ()
    from monitor import minhash  # numpy, only where articles are sketched: see minhash

    body = minhash.band_keys(minhash.signature(toks, minhash.BODY), BODY_ROWS, b"B")
    lead = minhash.band_keys(
        minhash.signature(lead_tokens(normalized), minhash.LEAD), LEAD_ROWS, b"L"
    )
    return tuple(dict.fromkeys(body + lead))


def fingerprint(title: str, text: str) -> Fingerprint:
    """Normalize once and derive the hash, the band keys and the verification excerpt."""
    normalized = normalize_text(text, title=title)
    toks = tokens(normalized)
    return Fingerprint(
        text_hash=text_hash(normalized),
        keys=sketch_keys(normalized, toks),
        title=normalize_title(title),
        body=normalized[:EXCERPT_CHARS],
        words=len(toks),
    )


def jaccard(a: str, b: str) -> float:
    """Exact shingle Jaccard of two normalized texts (evaluation and tests only)."""
    from monitor.minhash import shingle_hashes

    sa = set(shingle_hashes(tokens(a)).tolist())
    sb = set(shingle_hashes(tokens(b)).tolist())
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0

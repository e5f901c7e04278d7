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

import hashlib
import re
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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

_TOKEN_IDS: dict[str, int] = {}
_TOKEN_CACHE_MAX = 500_000

_U64 = np.uint64
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9][:SHINGLE], dtype=_U64)


def _perm_params(count: int, seed: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    rng = np.random.Generator(np.random.PCG64(seed))
    mult = rng.integers(1, 2**63, size=count, dtype=np.uint64) * _U64(2) + _U64(1)  # odd
    add = rng.integers(0, 2**63, size=count, dtype=np.uint64)
    return mult, add


_BODY_PERMS = _perm_params(BODY_BANDS * BODY_ROWS, seed=20240618)
_LEAD_PERMS = _perm_params(LEAD_BANDS * LEAD_ROWS, seed=20230913)


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


def _token_ids(toks: list[str]) -> list[int]:
    """crc32 per token, memoized: news vocabulary is small and hashing dominates otherwise."""
    cache = _TOKEN_IDS
    out = []
    for tok in toks:
        value = cache.get(tok)
        if value is None:
            value = zlib.crc32(tok.encode("utf-8"))
            if len(cache) >= _TOKEN_CACHE_MAX:
                cache.clear()
            cache[tok] = value
        out.append(value)
    return out


def _shingle_hashes(toks: list[str]) -> npt.NDArray[np.uint64]:
    """One 64-bit value per distinct word 3-shingle (fewer tokens: one shingle)."""
    ids = np.array(_token_ids(toks), dtype=np.uint64)
    width = min(SHINGLE, len(ids))
    if width == 0:
        return np.zeros(0, dtype=np.uint64)
    count = len(ids) - width + 1
    mixed = np.zeros(count, dtype=np.uint64)
    for offset in range(width):
        mixed ^= ids[offset : offset + count] * _MIX[offset]
        mixed = (mixed << _U64(13)) | (mixed >> _U64(51))
    return np.unique(mixed)


def minhash(
    shingles: npt.NDArray[np.uint64], perms: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]
) -> npt.NDArray[np.uint64]:
    """Multiply-shift hashing: for each permutation, the minimum of the top 32 bits."""
    mult, add = perms
    if shingles.size == 0:
        return np.full(mult.shape, np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        values = (shingles[:, None] * mult[None, :] + add[None, :]) >> _U64(32)
    result: npt.NDArray[np.uint64] = values.min(axis=0)
    return result


def band_keys(signature: npt.NDArray[np.uint64], rows: int, kind: bytes) -> list[int]:
    """Signed 64-bit keys (they fit a BIGINT), one per band, namespaced by sketch kind."""
    keys = []
    for band in range(len(signature) // rows):
        chunk = signature[band * rows : (band + 1) * rows].astype("<u4").tobytes()
        digest = hashlib.blake2b(kind + bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


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
    body = band_keys(minhash(_shingle_hashes(toks), _BODY_PERMS), BODY_ROWS, b"B")
    lead = band_keys(
        minhash(_shingle_hashes(lead_tokens(normalized)), _LEAD_PERMS), LEAD_ROWS, b"L"
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
    sa = set(_shingle_hashes(tokens(a)).tolist())
    sb = set(_shingle_hashes(tokens(b)).tolist())
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0

"""The numeric half of the sketch: shingle hashes, MinHash signatures, band keys.

Apart from :mod:`monitor.sketch` because it needs numpy, whose import costs about
0.25 s of CPU (``python -X importtime``). The polling process files fingerprints
the extraction workers computed, so it does not pay that at a poll's start, when
the first page is waiting for its core; the workers' forkserver loads it before
the first page arrives.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np
import numpy.typing as npt

from monitor.sketch import BODY_BANDS, BODY_ROWS, LEAD_BANDS, LEAD_ROWS, SHINGLE

_TOKEN_IDS: dict[str, int] = {}
_TOKEN_CACHE_MAX = 500_000

_U64 = np.uint64
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9][:SHINGLE], dtype=_U64)


def _perm_params(count: int, seed: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    rng = np.random.Generator(np.random.PCG64(seed))
    mult = rng.integers(1, 2**63, size=count, dtype=np.uint64) * _U64(2) + _U64(1)  # odd
    add = rng.integers(0, 2**63, size=count, dtype=np.uint64)
    return mult, add


BODY = _perm_params(BODY_BANDS * BODY_ROWS, seed=20240618)
LEAD = _perm_params(LEAD_BANDS * LEAD_ROWS, seed=20230913)


def _token_ids(toks: list[str]) -> list[int]:
    """crc32 per token, memoized: news vocabulary is small and hashing dominates otherwise.

    The new words are found and hashed first, then every token is looked up in one
    C-level ``map``. With a Python loop over the tokens, a fingerprint took 0.96 ms
    an article on the benchmark's pages; with the ``map``, 0.86 ms.
    """
    cache = _TOKEN_IDS
    distinct = set(toks)
    new = [tok for tok in distinct if tok not in cache]
    if new:
        if len(cache) + len(new) > _TOKEN_CACHE_MAX:
            cache.clear()
            new = list(distinct)
        for tok in new:
            cache[tok] = zlib.crc32(tok.encode("utf-8"))
    return list(map(cache.__getitem__, toks))


def shingle_hashes(toks: list[str]) -> npt.NDArray[np.uint64]:
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


def signature(
    toks: list[str], perms: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]
) -> npt.NDArray[np.uint64]:
    """The MinHash signature of a token list's distinct shingles."""
    return minhash(shingle_hashes(toks), perms)

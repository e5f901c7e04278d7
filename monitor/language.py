"""Article language as an ISO 639-1 code: declared by the page, or detected offline.

A page's own declaration (``<html lang>``, Content-Language, ``og:locale``) is
free and usually right, but CMS templates ship ``lang="en"`` on sites that
publish in other languages, and a third of the benchmark pages declare nothing.
So the declaration is taken when the text cannot contradict it with confidence,
and py3langid (a pure-Python naive Bayes model shipped inside the wheel, no
download at run time) decides otherwise. The model loads once per process, on
first use, because extraction runs in a process pool.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from py3langid import modelio
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

__all__ = ["choose_language", "detect_language", "normalize_language"]

# Codes that ISO 639 retired or that CMSs invent, mapped to the current two letters.
_ALIASES = {
    "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro", "nb": "no", "nn": "no",
    "fra": "fr", "fre": "fr", "eng": "en", "deu": "de", "ger": "de", "spa": "es",
    "ita": "it", "rus": "ru", "kor": "ko", "jpn": "ja", "zho": "zh", "chi": "zh",
    "por": "pt", "pol": "pl", "ukr": "uk", "nld": "nl", "dut": "nl", "ara": "ar",
    "french": "fr", "english": "en", "german": "de", "spanish": "es", "italian": "it",
    "russian": "ru", "korean": "ko", "deutsch": "de", "français": "fr", "español": "es",
}  # fmt: skip
_ISO_639_1_CODES = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu "
    "cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi "
    "ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks "
    "ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl "
    "nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl "
    "sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve "
    "vi vo wa wo xh yi yo za zh zu"
)
_ISO_639_1 = frozenset(_ISO_639_1_CODES.split())
_PRIMARY = re.compile(r"^\s*([A-Za-zçñ]+)")
_LETTERS = re.compile(r"[^\W\d_]")

MIN_DETECT_LETTERS = 40  # below this, langid guesses (short titles come out as "an", "ms"...)
SAMPLE_CHARS = 1500  # the first paragraphs decide as well as the whole text, for less work
OVERRIDE_CONFIDENCE = 0.995  # detection must be this sure to overrule a declaration
OVERRIDE_MIN_CHARS = 400


def normalize_language(value: str | None) -> str | None:
    """ISO 639-1 code for a language tag or locale (``fr-FR``, ``fr_CA``, ``FRA``), else None."""
    if not value:
        return None
    match = _PRIMARY.match(value)
    if match is None:
        return None
    code = match.group(1).lower()
    code = _ALIASES.get(code, code)
    return code if code in _ISO_639_1 else None


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """The model, from this machine's cache when it has one.

    py3langid ships it xz-compressed: decompressing 68 MB costs 0.7 s of CPU in
    every run's forkserver (measured), about a third of a worker's start-up. The
    plain copy loads in about 0.1 s, so a first run decompresses once, into the
    cache, and loads the copy. Any problem with the cache (read-only home, a torn
    or foreign file) means the shipped model.
    """
    cached = _cache_path()
    if cached is not None:
        if not cached.is_file():
            _write_plain(cached)
        with contextlib.suppress(Exception):
            return _load_plain(cached)
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


_SHIPPED = MODEL_DIR / MODEL_FILE


def _cache_path() -> Path | None:
    """Keyed by the shipped file's size and mtime, so an upgraded model is never mixed up."""
    try:
        stat = _SHIPPED.stat()
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except (OSError, RuntimeError):  # no home directory to speak of
        return None
    return base / "newsmon" / f"langid-{stat.st_size}-{stat.st_mtime_ns}.npz"


def _load_plain(path: Path) -> Any:
    with np.load(path, allow_pickle=False) as data:
        return LanguageIdentifier(
            np.asarray(data["ptc"]),
            np.asarray(data["pc"]),
            data["classes"].tolist(),
            modelio._to_array(data["nextmove"]),
            data["out_feat"].tolist(),
            norm_probs=True,
            tk_row=modelio._to_array(data["nextmove_row"]),
        )


def _write_plain(path: Path) -> None:
    """Decompress the shipped model next to its final place, then rename: a
    concurrent reader sees the whole file or none."""
    with contextlib.suppress(OSError, lzma.LZMAError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, lzma.open(_SHIPPED) as src:
                shutil.copyfileobj(src, out, length=1 << 20)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def detect_language(text: str) -> tuple[str | None, float]:
    """Detected code and its probability; (None, 0.0) when the text is too short to tell."""
    sample = text[:SAMPLE_CHARS]
    if len(_LETTERS.findall(sample)) < MIN_DETECT_LETTERS:
        return None, 0.0
    lang, confidence = _identifier().classify(sample)
    return normalize_language(str(lang)), float(confidence)


def choose_language(declared: str | None, text: str) -> str | None:
    """The declared language unless long text clearly says otherwise; detected if undeclared."""
    declared_code = normalize_language(declared)
    if declared_code is not None and len(text) < OVERRIDE_MIN_CHARS:
        return declared_code
    detected, confidence = detect_language(text)
    if declared_code is None:
        return detected
    if detected is not None and detected != declared_code and confidence >= OVERRIDE_CONFIDENCE:
        return detected
    return declared_code

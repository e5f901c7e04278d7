"""Multilingual term matching: text normalization and one compiled pattern per story.

Relevance runs on every article, so all the names and terms of a story (a few
hundred, in a dozen scripts) are compiled once into a single trie-shaped regular
expression and the text is scanned once. What the editor writes in the story
file is matched the way news text actually spells it:

* case, accents and compatibility forms are ignored (NFKC, casefold, combining
  marks stripped: ``Choïgou`` = ``choigou``, ``ё`` = ``е``); hyphens, dashes,
  middle dots (``북·러``) and apostrophes are unified;
* the words of a name may be written apart, hyphenated or glued
  (``Kim Jong-un``, ``Kim Jong Un``, ``Kim Jongun``);
* a Latin name may be glued to the next word by a scraper (``Kim Jong Unla``)
  or take an ending (``Russian``, ``Nordkoreas``), except short names
  (``Kim``, ``Xi``) which may only take a plural/genitive ``s``;
* Russian words are reduced to a stem and match every case ending
  (``Северная Корея`` matches ``Северной Кореи``);
* Korean names match at the start of a word followed by particles (``북한은``);
* Chinese/Japanese names match anywhere, those scripts having no spaces.

``ignore`` entries are matched like names but count for nothing: they swallow
look-alikes (``조선일보`` is a Seoul newspaper, not North Korea).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.story import Story

SIDE_A = "side_a"
SIDE_B = "side_b"
PAIR = "pair"
TOPIC = "topic"
EXCLUSION = "exclusion"
IGNORE = "ignore"

_ODD_CHARS = {
    **dict.fromkeys("‘’‚‛′`´ʼʹ＇", "'"),
    **dict.fromkeys("‐‑‒–—―−﹘﹣－⸺⸻·ㆍ\u119e・‧⋅∙", "-"),
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e", ""),
}
_ODD = re.compile("[" + re.escape("".join(_ODD_CHARS)) + "]")
# Letters that carry diacritics (Latin-1 to Latin Extended Additional, Greek,
# Cyrillic й/ё) and stray combining marks: only these runs are decomposed.
_ACCENTED = re.compile(
    "[\u00c0-\u024f\u0300-\u036f\u0386-\u03ce\u0419\u0439\u0401\u0451\u1e00-\u1eff]+"
)
_COMBINING = re.compile("[\u0300-\u036f]+")
_ODD_SPACE = re.compile("[\t\r\f\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_WORD_SEP = re.compile(r"[ '\-]+")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_HANGUL = re.compile("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_RU_ENDINGS = "аеиоуыэюяйь"

_SEP = "\x00sep"  # optional separator between the words of a name
_STEM = "\x00stem"  # any word characters (Russian endings inside a name)
_SEP_RE = r"[ '\-]?"
_STEM_RE = r"\w*"

LATIN, CYRILLIC, HANGUL, CJK = "latin", "cyrillic", "hangul", "cjk"


@lru_cache(maxsize=4096)
def _strip_accents(run: str) -> str:
    return _COMBINING.sub("", unicodedata.normalize("NFD", run))


def _odd(match: re.Match[str]) -> str:
    return _ODD_CHARS[match.group()]


def normalize(text: str) -> str:
    """The form both texts and terms are compared in; keeps line breaks (paragraphs).

    Written for speed (it runs on every article): each step is a C-level scan
    that only rewrites the few characters concerned (accented letters are
    decomposed one cached run at a time instead of decomposing the whole text).
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = _ACCENTED.sub(lambda m: _strip_accents(m.group()), text)
        if _ODD.search(text):
            text = _ODD.sub(_odd, text)
    if "  " in text or _ODD_SPACE.search(text):
        text = _SPACES.sub(" ", text)
    return text


def scripts_of(text: str) -> frozenset[str]:
    """Scripts present in normalized text, to pick the smallest pattern that covers it."""
    found = {LATIN}
    if not text.isascii():
        if _CYRILLIC.search(text):
            found.add(CYRILLIC)
        if _HANGUL.search(text):
            found.add(HANGUL)
        if _CJK.search(text):
            found.add(CJK)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class TermMeta:
    """What one compiled term stands for: the kind of evidence and its group."""

    term: str  # as the editor wrote it, shown in evidence
    kind: str  # SIDE_A, SIDE_B, PAIR, TOPIC, EXCLUSION, IGNORE
    group: int = 0  # index into story.topics / story.exclusions


@dataclass(frozen=True, slots=True)
class Leaf:
    """One normalized spelling and every term that normalizes to it."""

    tokens: tuple[str, ...]
    script: str  # LATIN, CYRILLIC, HANGUL or CJK (of its first letter)
    metas: tuple[TermMeta, ...]
    short: bool  # may only be followed by nothing or "s"
    index: int = 0  # position in Matcher.leaves: a cheap key for counting
    sides: int = 0  # bit 1: names side A, bit 2: side B (3: a pair word)
    topics: frozenset[int] = frozenset()
    exclusions: frozenset[int] = frozenset()


# A hit: offset of the term's last character (enough to place it in a
# sentence) and the leaf found. Plain tuples: scanning is the hot loop.
Hit = tuple[int, Leaf]


@dataclass(frozen=True)
class Matcher:
    """All terms of a story, compiled on demand into one pattern per mix of scripts.

    The regex engine tries alternatives one by one, so a Latin text need not
    pay for the Korean and Russian first letters: a French article is scanned
    with the Latin terms only, a Korean one with Korean and Latin terms.
    """

    leaves: tuple[Leaf, ...]
    _patterns: dict[frozenset[str], tuple[re.Pattern[str], tuple[Leaf, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def pattern(self, scripts: frozenset[str]) -> tuple[re.Pattern[str], tuple[Leaf, ...]]:
        """Word-start pattern for these scripts and its leaves (group n is ``leaves[n - 1]``)."""
        key = scripts - {CJK}
        compiled = self._patterns.get(key)
        if compiled is None:
            chosen = [leaf for leaf in self.leaves if leaf.script in key]
            compiled = self._patterns[key] = _compile(chosen, word_start=True)
        return compiled

    def cjk_pattern(self) -> tuple[re.Pattern[str], tuple[Leaf, ...]] | None:
        key = frozenset({CJK})
        compiled = self._patterns.get(key)
        if compiled is None:
            chosen = [leaf for leaf in self.leaves if leaf.script == CJK]
            if not chosen:
                return None
            compiled = self._patterns[key] = _compile(chosen, word_start=False)
        return compiled


def _stem_ru(word: str) -> str:
    """Strip up to two vowel-like endings so every grammatical case still matches."""
    for _ in range(2):
        if len(word) > 4 and word[-1] in _RU_ENDINGS:
            word = word[:-1]
    return word


def _tokens(term: str) -> tuple[tuple[str, ...], str, bool]:
    """Regex tokens of a term, its script, whether it is short (no glued endings)."""
    norm = normalize(term).strip()
    words = [w for w in _WORD_SEP.split(norm) if w]
    if not words:
        raise ValueError(f"term {term!r} has no letters")
    tokens: list[str] = []
    for i, word in enumerate(words):
        stem = word.endswith("*")
        word = word.rstrip("*")
        if not word or "*" in word:
            raise ValueError(f"term {term!r}: '*' may only end a word")
        if _CYRILLIC.search(word):
            word, stem = _stem_ru(word), True
        if i:
            tokens.append(_SEP)
        tokens.extend(word)
        if stem and i < len(words) - 1:
            tokens.append(_STEM)
    first = norm[0]
    if _CJK.match(first):
        script = CJK
    elif _HANGUL.match(first):
        script = HANGUL
    elif _CYRILLIC.match(first):
        script = CYRILLIC
    else:
        script = LATIN
    last = words[-1].rstrip("*")
    latin = not (_CYRILLIC.search(norm) or _HANGUL.search(norm) or _CJK.search(norm))
    glued_ok = (len(last) >= 4 and not last[-1].isdigit()) or len(words) >= 3
    short = latin and not words[-1].endswith("*") and not glued_ok
    return tuple(tokens), script, short


class _Node:
    __slots__ = ("children", "leaf")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.leaf: int | None = None

    def add(self, tokens: tuple[str, ...], leaf: int) -> None:
        node = self
        for token in tokens:
            node = node.children.setdefault(token, _Node())
        node.leaf = leaf


def _token_re(token: str) -> str:
    if token == _SEP:
        return _SEP_RE
    if token == _STEM:
        return _STEM_RE
    return re.escape(token)


def _emit(node: _Node, order: list[int], suffix: str) -> str:
    """Regex of a trie node; longer continuations come before the node's own end.

    Each leaf becomes an empty capturing group, numbered in the order appended
    to ``order``, so ``match.lastindex`` names the term that matched.
    """
    parts = [
        _token_re(token) + _emit(child, order, suffix)
        for token, child in sorted(node.children.items())
    ]
    if node.leaf is not None:
        order.append(node.leaf)
        parts.append("()" + suffix)
    if len(parts) == 1:
        return parts[0]
    return "(?:" + "|".join(parts) + ")"


def _compile(leaves: list[Leaf], *, word_start: bool) -> tuple[re.Pattern[str], tuple[Leaf, ...]]:
    """Trie regex of ``leaves``; group n is ``leaves[n - 1]`` (it ends where the term does).

    Word-start terms are found by one anchored match per hit: a lazy loop skips
    whole words (in C) and tries the trie only where a word begins, so the cost
    grows with the number of words, and the left word boundary comes for free.
    Chinese/Japanese have no spaces: a plain search, with no ending allowed.
    """
    root = _Node()
    for i, leaf in enumerate(leaves):
        root.add(leaf.tokens, i)
    order: list[int] = []
    if word_start:
        trie = _emit(root, order, r"\w*")
        source = rf"\W*+(?:\w++\W*+)*?{trie}"
    else:
        source = _emit(root, order, "")
    return re.compile(source), tuple(leaves[i] for i in order)


def _story_terms(story: Story) -> list[TermMeta]:
    metas: list[TermMeta] = []
    for kind, side in ((SIDE_A, story.sides[0]), (SIDE_B, story.sides[1])):
        metas += [TermMeta(t, kind) for t in side.names]
        metas += [TermMeta(t, IGNORE) for t in side.ignore]
    metas += [TermMeta(t, PAIR) for t in story.pair_names]
    for i, topic in enumerate(story.topics):
        metas += [TermMeta(t, TOPIC, i) for t in topic.terms]
    for i, exclusion in enumerate(story.exclusions):
        metas += [TermMeta(t, EXCLUSION, i) for t in exclusion.terms]
    return metas


_BITS = {SIDE_A: 1, SIDE_B: 2, PAIR: 3}


def _side_bits(metas: list[TermMeta]) -> int:
    bits = 0
    for meta in metas:
        bits |= _BITS.get(meta.kind, 0)
    return bits


def build_matcher(story: Story) -> Matcher:
    """Gather every term of ``story``; raises ValueError naming a contradictory term."""
    by_tokens: dict[tuple[str, ...], int] = {}
    grouped: list[list[TermMeta]] = []
    info: list[tuple[tuple[str, ...], str, bool]] = []
    for meta in _story_terms(story):
        tokens, script, short = _tokens(meta.term)
        index = by_tokens.get(tokens)
        if index is None:
            index = by_tokens[tokens] = len(grouped)
            grouped.append([])
            info.append((tokens, script, short))
        kinds = {m.kind for m in grouped[index]} | {meta.kind}
        if {SIDE_A, SIDE_B} <= kinds:
            raise ValueError(f"sides: {meta.term!r} is a name of both sides")
        if IGNORE in kinds and len(kinds) > 1:
            raise ValueError(f"ignore: {meta.term!r} is also a term to match")
        grouped[index].append(meta)
    leaves = tuple(
        Leaf(
            tokens,
            script,
            tuple(metas),
            short,
            index=i,
            sides=_side_bits(metas),
            topics=frozenset(m.group for m in metas if m.kind == TOPIC),
            exclusions=frozenset(m.group for m in metas if m.kind == EXCLUSION),
        )
        for i, (metas, (tokens, script, short)) in enumerate(zip(grouped, info, strict=True))
    )
    matcher = Matcher(leaves)
    matcher.pattern(frozenset({LATIN}))  # compile the common case now: errors show at load
    return matcher


_CACHE: dict[str, Matcher] = {}


def compile_story(story: Story) -> Matcher:
    """The story's matcher, built once per process (stories travel without it)."""
    matcher = _CACHE.get(story.fingerprint)
    if matcher is None:
        matcher = _CACHE[story.fingerprint] = build_matcher(story)
    return matcher


def scan(matcher: Matcher, text: str) -> list[Hit]:
    """Every term occurrence in normalized ``text``, in text order, not overlapping."""
    scripts = scripts_of(text)
    pattern, leaves = matcher.pattern(scripts)
    hits: list[Hit] = []
    match = pattern.match
    end = len(text)
    pos = 0
    while pos < end and (m := match(text, pos)) is not None:
        group = m.lastindex or 1
        leaf = leaves[group - 1]
        core_end = m.end(group)
        pos = m.end()
        if leaf.short and pos > core_end and text[core_end:pos] != "s":
            continue  # "Kimchi" is not "Kim": the whole word is skipped
        if leaf.metas[0].kind != IGNORE:
            hits.append((core_end - 1, leaf))
    cjk = matcher.cjk_pattern() if CJK in scripts else None
    if cjk is not None:
        for m in cjk[0].finditer(text):
            leaf = cjk[1][(m.lastindex or 1) - 1]
            if leaf.metas[0].kind != IGNORE:
                hits.append((m.end() - 1, leaf))
        hits.sort(key=lambda h: h[0])
    return hits

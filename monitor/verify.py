"""Verification of dedup candidates: is this pair one story told twice?

The sketch (``monitor.sketch``) only proposes candidates; this module decides,
with rapidfuzz, on *bounded* text: at most ``VERIFY_CHARS`` of each normalized
body, so a check costs the same for a 500-word dispatch and a 50 000-word
long read (``partial_ratio`` on two whole articles would cost ~0.5 s a pair).

Both texts are cut into sentences and aligned: identical sentences pair up by
hash, the rest with ``fuzz.ratio`` (rapidfuzz ``cdist``) above
``SENTENCE_CUTOFF``, so typos, other quotes, a dropped or added paragraph only
lose the sentences they touch; a fuzzy pair whose numbers differ is not a
pair (template stories: other scores, other prices). From the alignment come
three figures:

* ``similarity`` (0-100): the share of characters, both sides together, that
  found a partner. Near-copies score 85-100; the five seeds, which tell one
  event in different words, score 0-15 (they share names, not sentences).
* ``containment`` (0-1): the share of the *shorter* text found in the longer.
  A teaser (first third of an article plus "read more") scores ~1.0, whichever
  of the two arrived first; its last, truncated sentence may match partially.
* ``lead_aligned``: the shorter text starts where the longer one does. That is
  what separates a teaser from a new article that reuses an older one's
  background paragraph or a long quote: those match in the middle, not at the
  lead.

Rules, in order: ``near_body`` when similarity >= ``body_threshold`` (lowered by
``TITLE_BONUS`` when the titles agree, since then two signals say the same);
``containment`` when the shorter text has at least ``min_words`` words, is
lead-aligned and containment >= ``containment_threshold``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from monitor.config import DedupSettings

VERIFY_CHARS = 8_000
SENTENCE_CUTOFF = 80.0
TITLE_BONUS = 10.0
MIN_SENTENCE_CHARS = 25
# Lead-aligned: the first shared sentence starts this close to the start of both texts.
LEAD_OFFSET_CHARS = 400
LEAD_OFFSET_SHARE = 0.15

_SENTENCE_END = re.compile(r"(?<=[.!?؟।])\s+|(?<=[。！？])")
_NUMBER = re.compile(r"\d+")
_TITLE_SEPARATORS = re.compile(r"\s+[|\-:•·/]\s+|\s*[|•]\s*")


@dataclass(frozen=True, slots=True)
class Comparison:
    """How two articles compare, and which rule (if any) calls them duplicates."""

    method: str  # near_body, containment or none
    score: float  # the figure the deciding rule compared (or the similarity when none)
    threshold: float
    similarity: float
    containment: float
    title_similarity: float
    lead_aligned: bool

    @property
    def is_duplicate(self) -> bool:
        return self.method != "none"


def sentences(normalized: str, limit: int = VERIFY_CHARS) -> list[str]:
    """Sentences of a normalized body up to ``limit`` characters; fragments merge forward.

    Merging short pieces ("m.", "1.", a dateline) into the next sentence keeps
    ``fuzz.ratio`` away from tiny strings, where one typo swings the score.
    """
    out: list[str] = []
    total = 0
    pending = ""
    for paragraph in normalized.split("\n"):
        for piece in _SENTENCE_END.split(paragraph):
            piece = piece.strip()
            if not piece:
                continue
            pending = f"{pending} {piece}" if pending else piece
            if len(pending) < MIN_SENTENCE_CHARS:
                continue
            out.append(pending)
            total += len(pending)
            pending = ""
            if total >= limit:
                return out
    if pending:
        out.append(pending)
    return out


def title_core(title: str) -> str:
    """The longest part of a title once site names and rubric prefixes are split off."""
    parts = [p.strip() for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    return max(parts, key=len) if parts else title


def title_similarity(a: str, b: str) -> float:
    """Agreement of two normalized titles, robust to "VIDEO - ..." and "... | Site"."""
    if not a or not b:
        return 0.0
    return max(fuzz.ratio(a, b), fuzz.ratio(title_core(a), title_core(b)))


@dataclass(frozen=True, slots=True)
class _Alignment:
    matched_a: list[bool]
    matched_b: list[bool]
    partner_a: list[int]  # index in b of the partner of each sentence of a, -1 if none


def _drop_number_conflicts(scores: Any, a: list[str], b: list[str]) -> None:
    """Unpair fuzzy matches whose figures differ.

    Template stories (market closes, match results, weather) repeat sentences
    word for word with other numbers; they are different articles. A repost
    keeps its figures, so a fuzzy pair with other numbers is not a match.
    Exact pairs never get here, and typos do not touch digits.
    """
    rows, cols = scores.nonzero()
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        if _NUMBER.findall(a[row]) != _NUMBER.findall(b[col]):
            scores[row, col] = 0


def _align(a: list[str], b: list[str]) -> _Alignment:
    """Pair sentences: exact matches first (cheap), fuzzy only among the leftovers."""
    partner_a = [-1] * len(a)
    matched_b = [False] * len(b)
    where_b: dict[str, int] = {}
    for j, sent in enumerate(b):
        where_b.setdefault(sent, j)
    for i, sent in enumerate(a):
        j = where_b.get(sent, -1)
        if j >= 0:
            partner_a[i] = j
            matched_b[j] = True
    rest_a = [i for i, p in enumerate(partner_a) if p < 0]
    rest_b = [j for j, m in enumerate(matched_b) if not m]
    if rest_a and rest_b:
        scores = process.cdist(
            [a[i] for i in rest_a],
            [b[j] for j in rest_b],
            scorer=fuzz.ratio,
            score_cutoff=SENTENCE_CUTOFF,
            workers=1,
        )
        _drop_number_conflicts(scores, [a[i] for i in rest_a], [b[j] for j in rest_b])
        for row, i in enumerate(rest_a):
            col = int(scores[row].argmax())
            if scores[row, col] >= SENTENCE_CUTOFF:
                partner_a[i] = rest_b[col]
        for col, j in enumerate(rest_b):
            if scores[:, col].max() >= SENTENCE_CUTOFF:
                matched_b[j] = True
    return _Alignment([p >= 0 for p in partner_a], matched_b, partner_a)


def _residue_match(
    a: list[str], matched_a: list[bool], b: list[str], matched_b: list[bool]
) -> float:
    """Characters recovered when the unpaired sentences of both sides are one text.

    Sites cut sentences differently ("m.poutine", a missing space after a full
    stop, a line break inside a sentence): the two halves of a split sentence
    find no partner alone. Joined, the leftovers of a near-copy are still the
    same text, so one ``fuzz.ratio`` on them (bounded text, once per comparison
    below the threshold; rapidfuzz gives up at once when the lengths alone rule
    out the cutoff) gives those characters back. Their figures must agree, as
    for sentence pairs.
    """
    rest_a = " ".join(s for s, m in zip(a, matched_a, strict=True) if not m)
    rest_b = " ".join(s for s, m in zip(b, matched_b, strict=True) if not m)
    if not rest_a or not rest_b or _NUMBER.findall(rest_a) != _NUMBER.findall(rest_b):
        return 0.0
    score = fuzz.ratio(rest_a, rest_b, score_cutoff=SENTENCE_CUTOFF)
    return score / 100.0 * (len(rest_a) + len(rest_b)) if score else 0.0


def _share(sents: list[str], matched: list[bool]) -> float:
    total = sum(len(s) for s in sents)
    return sum(len(s) for s, m in zip(sents, matched, strict=True) if m) / total if total else 0.0


def _truncated_tail(short: list[str], matched: list[bool], long: list[str]) -> int | None:
    """Index of a teaser's cut-off sentence, if it is part of a sentence of the longer text.

    Only the sentence right after the last matched one is tried (that is where a
    teaser stops), so ``partial_ratio`` runs once per comparison at most.
    """
    last = max((i for i, m in enumerate(matched) if m), default=None)
    if last is None or last + 1 >= len(short):
        return None
    cut = short[last + 1]
    if len(cut) < MIN_SENTENCE_CHARS:
        return None
    best = process.extractOne(cut, long, scorer=fuzz.partial_ratio, score_cutoff=SENTENCE_CUTOFF)
    return last + 1 if best is not None else None


def _near_start(sents: list[str], index: int) -> bool:
    offset = sum(len(s) + 1 for s in sents[:index])
    window = sum(len(s) + 1 for s in sents)
    return offset <= max(LEAD_OFFSET_CHARS, LEAD_OFFSET_SHARE * window)


def _lead_aligned(
    short: list[str], matched: list[bool], partner: list[int], long: list[str]
) -> bool:
    """The first shared sentence opens both texts (give or take a few header lines)."""
    first = next((i for i, m in enumerate(matched) if m), None)
    if first is None:
        return False
    return _near_start(short, first) and _near_start(long, partner[first])


def _containment(short: list[str], matched: list[bool], long: list[str], aligned: bool) -> float:
    """Share of the shorter text found in the longer one.

    When the texts are lead-aligned, unmatched lines *before* the first shared
    sentence are the other site's header (bounded by the alignment rule) and do
    not count; a teaser's cut-off sentence counts if it is part of one of the
    longer text's sentences.
    """
    counted = list(matched)
    start = next((i for i, m in enumerate(matched) if m), len(matched)) if aligned else 0
    tail = _truncated_tail(short, matched, long)
    if tail is not None:
        counted[tail] = True
    kept = short[start:]
    return _share(kept, counted[start:]) if kept else 0.0


def compare(
    title_a: str,
    body_a: str,
    words_a: int,
    title_b: str,
    body_b: str,
    words_b: int,
    settings: DedupSettings,
) -> Comparison:
    """Compare two normalized articles (title, bounded body, word count of the full body)."""
    sa, sb = sentences(body_a), sentences(body_b)
    titles = title_similarity(title_a, title_b)
    if not sa or not sb:
        return Comparison("none", 0.0, settings.body_threshold, 0.0, 0.0, titles, False)
    # Orient so that "short" is the text with fewer words (the teaser, if any).
    swap = words_b < words_a
    short, long = (sb, sa) if swap else (sa, sb)
    short_words = min(words_a, words_b)
    al = _align(short, long)
    chars_short = sum(len(s) for s in short)
    chars_long = sum(len(s) for s in long)
    cov_short, cov_long = _share(short, al.matched_a), _share(long, al.matched_b)
    similarity = (
        100.0 * (cov_short * chars_short + cov_long * chars_long) / (chars_short + chars_long)
    )
    near_threshold = settings.body_threshold
    if titles >= settings.title_threshold:
        near_threshold = max(0.0, near_threshold - TITLE_BONUS)
    if similarity < near_threshold:
        bonus = _residue_match(short, al.matched_a, long, al.matched_b)
        similarity += 100.0 * bonus / (chars_short + chars_long)
    aligned = _lead_aligned(short, al.matched_a, al.partner_a, long)
    containment = _containment(short, al.matched_a, long, aligned)

    if similarity >= near_threshold:
        return Comparison(
            "near_body",
            round(similarity, 2),
            near_threshold,
            similarity,
            containment,
            titles,
            aligned,
        )
    if (
        short_words >= settings.min_words
        and aligned
        and containment >= settings.containment_threshold
    ):
        return Comparison(
            "containment",
            round(containment, 4),
            settings.containment_threshold,
            similarity,
            containment,
            titles,
            aligned,
        )
    return Comparison(
        "none", round(similarity, 2), near_threshold, similarity, containment, titles, aligned
    )

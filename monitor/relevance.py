"""Story relevance: does an article follow the relationship between the two sides?

Co-mention is not enough: a report on Putin in Hanoi that recalls his stop in
Pyongyang names both sides once. What marks an item as *about the
relationship* is that the two sides keep meeting in the same units of text, so
the score adds up explainable pieces, each reported as a reason with its points:

* the title names both sides (or one side, with a topic term);
* the lead (first sentences) names both sides;
* each body sentence naming both sides, then each paragraph doing so;
* distinct topic groups (weapons, treaty, troops...) inside those sentences;
* coverage: the share of side-naming paragraphs that name both.

Exclusions (neighbouring stories: Putin-Xi, Trump-Kim...) subtract in
proportion to how much they dominate the pair: a Vietnam paragraph in a
Pyongyang report costs little, a Vietnam report with one Pyongyang sentence
costs much. A text where the sides never meet in one title, sentence or
paragraph is off the story whatever else it says. Scores between the
``review`` and ``on_story`` thresholds go to a person.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.errors import BadInputError
from monitor.records import Evidence, Judgement, Label
from monitor.story import Story, load_stories, load_story
from monitor.terms import (
    EXCLUSION,
    PAIR,
    SIDE_A,
    SIDE_B,
    TOPIC,
    Leaf,
    compile_story,
    normalize,
    scan,
)

__all__ = ["Story", "judge", "judge_all", "load_stories", "load_story", "summarize"]

_SENTENCE_END = re.compile(r"[.!?…。！？][\"')\]»”]*\s+")
_TEXT_PARAGRAPH = 40  # shorter lines are furniture (dates, "Share", bylines)
_LEAD_SENTENCES = 2
_MAX_EVIDENCE = 24
_BOTH = 3
_LABEL_RANK = {Label.ON_STORY: 2, Label.REVIEW: 1, Label.OFF_STORY: 0}


class _Unit:
    """What one sentence or paragraph names: sides (bit mask), topics, exclusions."""

    __slots__ = ("exclusions", "mask", "topics")

    def __init__(self) -> None:
        self.mask = 0
        self.topics: frozenset[int] = frozenset()
        self.exclusions: frozenset[int] = frozenset()


@dataclass(slots=True)
class _Layout:
    """The normalized document cut into title, paragraphs and sentences.

    Paragraph 0 is the title. ``counted[p]`` is False for body lines that repeat
    the title (scrapers often keep it) so they do not count twice; ``text[p]``
    marks paragraphs long enough to be prose, the base of coverage; the lead is
    the first sentences of the first prose paragraph.
    """

    doc: str
    para_starts: list[int]
    sent_starts: list[int]
    sent_para: list[int]
    counted: list[bool]
    text: list[bool]
    lead: set[int]


def _layout(title: str, body: str) -> _Layout:
    norm_title = normalize(title).replace("\n", " ").strip()
    doc = norm_title + "\n" + normalize(body)
    para_starts: list[int] = []
    sent_starts: list[int] = []
    sent_para: list[int] = []
    counted: list[bool] = []
    text: list[bool] = []
    lead: set[int] = set()
    lead_para: int | None = None
    offset = 0
    for line in doc.split("\n"):
        stripped = line.strip()
        if stripped or offset == 0:
            p = len(para_starts)
            para_starts.append(offset)
            counted.append(p == 0 or stripped != norm_title)
            text.append(p > 0 and counted[-1] and len(stripped) >= _TEXT_PARAGRAPH)
            starts = [offset] + [offset + m.end() for m in _SENTENCE_END.finditer(line)]
            for start in starts:
                if start < offset + len(line):
                    if text[-1] and len(lead) < _LEAD_SENTENCES and lead_para in (None, p):
                        lead.add(len(sent_starts))
                        lead_para = p
                    sent_starts.append(start)
                    sent_para.append(p)
        offset += len(line) + 1
    return _Layout(doc, para_starts, sent_starts, sent_para, counted, text, lead)


@dataclass(slots=True)
class _Features:
    title: _Unit
    has_title: bool = False
    lead_mask: int = 0
    pair_sentences: int = 0
    pair_paragraphs: int = 0
    paragraphs_without_pair_sentence: int = 0
    text_paragraphs: int = 0
    near_topics: set[int] = field(default_factory=set)
    exclusion_sentences: Counter[int] = field(default_factory=Counter)


_WHERE = ("title", "lead", "body")


def _features(story: Story, lay: _Layout) -> tuple[_Features, list[tuple[Leaf, int, int]]]:
    """Which units name which sides/topics/exclusions, and term counts by place.

    This loop runs for every hit of every article, hence flat lists and dicts
    keyed by integers instead of objects per sentence.
    """
    matcher = compile_story(story)
    sent_starts, sent_para, counted, lead = lay.sent_starts, lay.sent_para, lay.counted, lay.lead
    sent_mask = [0] * len(sent_starts)
    para_mask = [0] * len(lay.para_starts)
    sent_topics: dict[int, set[int]] = {}
    sent_exclusions: dict[int, set[int]] = {}
    counts: dict[int, int] = {}  # leaf index * 3 + place (title, lead, body)
    for at, leaf in scan(matcher, lay.doc):
        s = bisect_right(sent_starts, at) - 1
        p = sent_para[s]
        if not counted[p]:
            continue
        key = leaf.index * 3 + (0 if p == 0 else (1 if s in lead else 2))
        counts[key] = counts.get(key, 0) + 1
        if leaf.sides:
            sent_mask[s] |= leaf.sides
            para_mask[p] |= leaf.sides
        if leaf.topics:
            sent_topics.setdefault(s, set()).update(leaf.topics)
        if leaf.exclusions:
            sent_exclusions.setdefault(s, set()).update(leaf.exclusions)

    title = _Unit()
    title.mask = para_mask[0]
    f = _Features(title=title, has_title=not lay.doc.startswith("\n"))
    para_topics: dict[int, set[int]] = {}
    for s, topics in sent_topics.items():
        para_topics.setdefault(sent_para[s], set()).update(topics)
    title.topics = frozenset(para_topics.get(0, ()))
    excluded_title: set[int] = set()
    for s, groups in sent_exclusions.items():
        if sent_para[s] == 0:
            excluded_title |= groups
        else:
            f.exclusion_sentences.update(groups)
    title.exclusions = frozenset(excluded_title)
    paras_with_pair_sentence: set[int] = set()
    for s, mask in enumerate(sent_mask):
        if not mask or sent_para[s] == 0:
            continue
        if s in lead:
            f.lead_mask |= mask
        if mask == _BOTH:
            f.pair_sentences += 1
            f.near_topics |= sent_topics.get(s, set())
            paras_with_pair_sentence.add(sent_para[s])
    f.text_paragraphs = sum(lay.text)
    for p, mask in enumerate(para_mask):
        if p and mask == _BOTH:
            f.pair_paragraphs += 1
            f.near_topics |= para_topics.get(p, set())
            f.paragraphs_without_pair_sentence += p not in paras_with_pair_sentence
    if title.mask == _BOTH:
        f.near_topics |= title.topics
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return f, [(matcher.leaves[key // 3], key % 3, n) for key, n in ranked]


def _score(story: Story, f: _Features) -> tuple[float, list[str]]:
    """Add up the evidence; every non-zero piece becomes a reason with its points."""
    w = story.weights
    score = 0.0
    reasons: list[str] = []

    def add(points: float, reason: str) -> None:
        nonlocal score
        if points:
            score += points
            reasons.append(f"{reason} ({points:+.2f})")

    title_pair = f.title.mask == _BOTH
    if title_pair:
        add(w.title_pair, "title names both sides")
    elif not f.title.mask:
        add(-w.title_none if f.has_title else 0.0, "title names neither side")
    else:
        add(w.title_side, "title names one side")
        if f.title.topics:
            add(w.title_topic, "title has a topic term")
        if f.title.mask | f.lead_mask == _BOTH:
            add(w.title_lead_pair, "title and lead together name both sides")
    if f.lead_mask == _BOTH:
        add(w.lead_pair, "lead names both sides")
    n = f.pair_sentences
    add(w.pair_sentence * min(n, w.max_pair_sentences), f"{n} sentence(s) name both sides")
    n = f.paragraphs_without_pair_sentence
    add(w.pair_paragraph * min(n, w.max_pair_paragraphs), f"{n} more paragraph(s) name both")
    if f.near_topics:
        names = ", ".join(story.topics[i].name for i in sorted(f.near_topics))
        points = w.topic_group * min(len(f.near_topics), w.max_topic_groups)
        add(points, f"topics next to both sides: {names}")
    if f.pair_paragraphs:
        base = max(f.text_paragraphs, f.pair_paragraphs)
        share = f.pair_paragraphs / base
        add(w.coverage * share, f"{f.pair_paragraphs}/{base} paragraphs name both sides")

    pair_mass = f.pair_sentences + (2 if title_pair else 0)
    budget = w.exclusion  # several neighbouring stories together cost no more than one
    for g, exclusion in enumerate(story.exclusions):
        in_body = f.exclusion_sentences[g]
        in_title = g in f.title.exclusions
        if not in_body and not in_title:
            continue
        mass = in_body + (2 if in_title else 0)
        dominance = mass / (mass + pair_mass)
        where = f"{in_body} sentence(s)" + (" and the title" if in_title else "")
        penalty = min(w.exclusion * exclusion.weight * dominance, budget)
        budget -= penalty
        add(-penalty, f"{exclusion.kind}: {where}")
        if in_title and not title_pair:
            add(-w.title_exclusion * exclusion.weight, f"{exclusion.kind} in the title")
    return score, reasons


def judge(story: Story, title: str, text: str) -> Judgement:
    """Score one article against one story and say on/off/review, with the evidence."""
    lay = _layout(title or "", text or "")
    f, counts = _features(story, lay)
    score, reasons = _score(story, f)
    met = f.title.mask == _BOTH or f.pair_paragraphs or (f.title.mask | f.lead_mask) == _BOTH
    thresholds = story.thresholds
    if not met:
        label = Label.OFF_STORY
        reasons.append("the two sides never appear together")
    elif score >= thresholds.on_story:
        label = Label.ON_STORY
    elif score >= thresholds.review:
        label = Label.REVIEW
    else:
        label = Label.OFF_STORY
    evidence = _evidence(story, counts, f)
    return Judgement(label, round(score, 3), story.id, evidence, tuple(reasons))


def _evidence(
    story: Story, counts: list[tuple[Leaf, int, int]], f: _Features
) -> tuple[Evidence, ...]:
    """Pair counts first, then the most frequent terms, capped to keep rows small."""
    pair = f"{story.sides[0].name} + {story.sides[1].name}"
    out = []
    if f.title.mask == _BOTH:
        out.append(Evidence(pair, PAIR, "title", 1))
    if f.pair_sentences:
        out.append(Evidence(pair, PAIR, "sentence", f.pair_sentences))
    if f.pair_paragraphs:
        out.append(Evidence(pair, PAIR, "paragraph", f.pair_paragraphs))
    for leaf, where, count in counts:
        for meta in leaf.metas:
            if len(out) >= _MAX_EVIDENCE:
                return tuple(out)
            out.append(Evidence(meta.term, meta.kind, _WHERE[where], count))
    return tuple(out)


def judge_all(stories: Sequence[Story], title: str, text: str) -> Judgement:
    """The best verdict over all stories: on_story > review > off_story, then score."""
    if not stories:
        raise BadInputError("no story to judge against: configure config/stories/*.yaml")
    best: Judgement | None = None
    for story in stories:
        judgement = judge(story, title, text)
        if best is None or (_LABEL_RANK[judgement.label], judgement.score) > (
            _LABEL_RANK[best.label],
            best.score,
        ):
            best = judgement
    assert best is not None
    return best


def summarize(evidence: Judgement | Mapping[str, Any], limit: int = 6) -> str:
    """One line for people (``ingest --dry-run``, ``review``): verdict, reasons, top terms.

    Takes a Judgement or its stored ``evidence_json()`` form, so the CLI can
    explain rows written by earlier runs.
    """
    data = evidence.evidence_json() if isinstance(evidence, Judgement) else evidence
    reasons = [str(r) for r in data.get("reasons", [])]
    terms = []
    for match in data.get("matches", []):
        if match.get("group") in (SIDE_A, SIDE_B, TOPIC, EXCLUSION):
            terms.append(f"{match['term']}×{match['count']} ({match['where']})")
        if len(terms) >= limit:
            break
    head = f"{data.get('label', '?')} {float(data.get('score', 0.0)):.2f}"
    parts = [head, "; ".join(reasons)]
    if terms:
        parts.append("terms: " + ", ".join(terms))
    return " | ".join(p for p in parts if p)

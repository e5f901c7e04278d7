"""Relevance verdicts: seeds, the labeled set, evidence, exclusions, several stories."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from monitor.errors import BadInputError
from monitor.records import Label
from monitor.relevance import judge, judge_all, summarize
from monitor.story import Story, load_story
from tests.relevance_labeled import HARD_NEGATIVE_KINDS, load_labeled, read_seed

BUNDLED = Path(__file__).resolve().parents[2] / "config" / "stories" / "russia-dprk.yaml"


@pytest.fixture(scope="module")
def story() -> Story:
    return load_story(BUNDLED)


def test_the_five_seeds_are_on_story(story: Story, seed_dir: Path) -> None:
    seeds = sorted(seed_dir.glob("*.txt"))
    assert len(seeds) == 5
    for path in seeds:
        title, text = read_seed(path)
        judgement = judge(story, title, text)
        assert judgement.label is Label.ON_STORY, (path.name, judgement.reasons)


def test_labeled_set_meets_the_targets(story: Story) -> None:
    items = load_labeled()
    assert len(items) >= 80
    languages = Counter(i.language for i in items)
    assert sum(1 for n in languages.values() if n >= 15) >= 4
    assert {i.kind for i in items} >= {"seed", "on_story", "easy_negative", *HARD_NEGATIVE_KINDS}

    filed = {i.id: judge(story, i.title, i.text).label is Label.ON_STORY for i in items}
    tp = sum(1 for i in items if i.label == "on_story" and filed[i.id])
    fp = sum(1 for i in items if i.label == "off_story" and filed[i.id])
    fn = sum(1 for i in items if i.label == "on_story" and not filed[i.id])
    assert tp / (tp + fp) >= 0.95
    assert tp / (tp + fn) >= 0.95
    for kind in HARD_NEGATIVE_KINDS:
        misses = [i.id for i in items if i.kind == kind and filed[i.id]]
        assert len(misses) <= 1, (kind, misses)


def test_evidence_says_what_matched_where_and_how_often(story: Story) -> None:
    title = "Putin and Kim sign defence pact in Pyongyang"
    text = (
        "Russia and North Korea signed a mutual defence treaty on Wednesday.\n\n"
        "Kim said the treaty made the two countries allies. Putin thanked North Korea "
        "for its support of Russia's war in Ukraine.\n\n"
        "Officials in Seoul said they were alarmed."
    )
    judgement = judge(story, title, text)
    assert judgement.label is Label.ON_STORY
    assert judgement.story == "russia-dprk"
    by_key = {(e.term, e.group, e.where): e.count for e in judgement.evidence}
    assert by_key[("Russia + North Korea", "pair", "title")] == 1
    assert by_key[("Russia + North Korea", "pair", "sentence")] == 2  # not "Kim said..."
    assert by_key[("Putin", "side_a", "title")] == 1
    assert by_key[("North Korea", "side_b", "body")] == 1
    assert by_key[("North Korea", "side_b", "lead")] == 1
    assert ("treaty", "topic", "lead") in by_key
    assert any("title names both sides" in r for r in judgement.reasons)
    stored = json.loads(json.dumps(judgement.evidence_json()))
    assert stored["label"] == "on_story" and stored["matches"][0]["group"] == "pair"
    line = summarize(stored)
    assert line.startswith("on_story ") and "title names both sides" in line
    assert summarize(judgement) == line


def test_co_mention_in_passing_is_not_the_story(story: Story) -> None:
    title = "Japan approves record defence budget"
    text = (
        "Japan's cabinet approved a record defence budget on Friday, with funds for "
        "long-range missiles and new destroyers.\n\n"
        "Officials cited China's military build-up and the cooperation between Russia "
        "and North Korea as reasons for concern.\n\n"
        "The opposition questioned how the spending would be financed."
    )
    judgement = judge(story, title, text)
    assert judgement.label is Label.OFF_STORY
    assert any("title names neither side" in r for r in judgement.reasons)


def test_exclusions_dampen_in_proportion_to_their_weight(story: Story) -> None:
    pair = "Putin signed a treaty with North Korea's Kim Jong Un in Pyongyang on Wednesday."
    vietnam = (
        "In Hanoi, Vietnam's President To Lam welcomed Putin with a 21-gun salute. "
        "Vietnam and Russia signed deals on energy. Vietnamese officials praised the visit."
    )
    about_vietnam = judge(story, "Putin arrives in Vietnam", f"{vietnam}\n\n{pair}")
    about_pair = judge(story, "Putin arrives in Pyongyang", f"{pair}\n\n{vietnam}")
    assert about_vietnam.label is Label.OFF_STORY
    assert any(r.startswith("putin_vietnam") for r in about_vietnam.reasons)
    assert about_pair.score > about_vietnam.score + 5


def test_sides_never_together_is_off_story(story: Story) -> None:
    text = "Putin spoke in Moscow about the economy.\n\nKim Jong Un visited a factory."
    judgement = judge(story, "", text)
    assert judgement.label is Label.OFF_STORY
    assert "the two sides never appear together" in judgement.reasons


def test_review_band_between_thresholds(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "sides: [{name: A, names: [Alpha]}, {name: B, names: [Bravo]}]\n"
        "thresholds: {on_story: 2.0, review: 0.5}\n"
        "weights: {title_none: 0, title_pair: 0, lead_pair: 0, pair_sentence: 1,"
        " coverage: 0, max_pair_sentences: 5}\n",
        encoding="utf-8",
    )
    story = load_story(path)
    one = judge(story, "", "A long enough sentence with Alpha and Bravo in it, yes indeed.")
    two = judge(story, "", "Alpha and Bravo met today. Later Alpha and Bravo agreed on it all.")
    none = judge(story, "", "Alpha alone here, in a sentence long enough to be prose.")
    assert (one.label, one.score) == (Label.REVIEW, 1.0)
    assert (two.label, two.score) == (Label.ON_STORY, 2.0)
    assert none.label is Label.OFF_STORY


def test_repeated_title_lines_do_not_count_twice(story: Story) -> None:
    title = "Poutine en Corée du Nord"
    once = judge(story, title, "Le texte parle de météo à Lyon, sans plus.")
    thrice = judge(story, title, f"{title}\n{title}\nLe texte parle de météo à Lyon, sans plus.")
    assert once.score == thrice.score


def test_judge_all_takes_the_best_story(story: Story, tmp_path: Path) -> None:
    path = tmp_path / "fr-de.yaml"
    path.write_text(
        "sides: [{name: France, names: [France, Macron]}, {name: Germany, names: [Merz]}]\n",
        encoding="utf-8",
    )
    other = load_story(path)
    title = "Macron et Merz signent un traité"
    text = "Macron et Merz ont signé un traité à Aix-la-Chapelle. La France salue l'accord."
    best = judge_all([story, other], title, text)
    assert (best.story, best.label) == ("fr-de", Label.ON_STORY)
    nk = judge_all([other, story], "Putin and Kim in Pyongyang", "Russia and North Korea met.")
    assert nk.story == "russia-dprk"
    with pytest.raises(BadInputError):
        judge_all([], "t", "x")


def test_empty_input_is_off_story(story: Story) -> None:
    judgement = judge(story, "", "")
    assert judgement.label is Label.OFF_STORY and judgement.evidence == ()

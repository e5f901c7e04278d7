"""Story files: validation with one-line errors, both term layouts, pickling."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.relevance import judge
from monitor.story import Story, load_stories, load_story

BUNDLED = Path(__file__).resolve().parents[2] / "config" / "stories" / "russia-dprk.yaml"

MINIMAL = """
id: fr-de
sides:
  - name: France
    names: {fr: [France, Paris, Macron], de: [Frankreich]}
  - name: Germany
    names: [Allemagne, Berlin, Merz, Deutschland]
topics:
  - name: treaty
    terms: [traité, Vertrag]
"""


def write(tmp_path: Path, text: str, name: str = "story.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_story_loads_with_every_required_language() -> None:
    story = load_story(BUNDLED)
    assert story.id == "russia-dprk"
    names = set(story.sides[0].names) | set(story.sides[1].names)
    for name in (
        "Russie",
        "Россия",
        "러시아",
        "Putin",
        "Путин",
        "푸틴",
        "Choïgou",
        "Shoigu",
        "Corée du Nord",
        "North Korea",
        "Северная Корея",
        "КНДР",
        "북한",
        "조선",
        "RPDC",
        "DPRK",
        "Pyongyang",
        "Пхеньян",
        "평양",
        "Kim Jong Un",
        "Ким Чен Ын",
        "김정은",
        "Nordkorea",
        "Corea del Norte",
        "Corea del Nord",
    ):
        assert name in names, name
    assert story.thresholds.review < story.thresholds.on_story


def test_terms_as_mapping_or_list(tmp_path: Path) -> None:
    story = load_story(write(tmp_path, MINIMAL))
    assert story.sides[0].names == ("France", "Paris", "Macron", "Frankreich")
    assert story.sides[1].names == ("Allemagne", "Berlin", "Merz", "Deutschland")


def test_id_defaults_to_file_name(tmp_path: Path) -> None:
    text = MINIMAL.replace("id: fr-de\n", "")
    assert load_story(write(tmp_path, text, "franco-german.yaml")).id == "franco-german"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda t: t.replace("  - name: Germany\n", "  - name: Germany\n    nom: x\n"),
            "sides.1.nom: Extra inputs are not permitted",
        ),
        (
            lambda t: t.replace("topics:", "  - name: Italy\n    names: [Italie]\ntopics:"),
            "sides: Value error, a story follows exactly two sides, got 3",
        ),
        (
            lambda t: t + "thresholds: {on_story: 2, review: 4}\n",
            "thresholds: Value error, review must not be above on_story",
        ),
        (
            lambda t: t.replace("[Allemagne,", "[Paris, Allemagne,"),
            "sides: 'Paris' is a name of both sides",
        ),
        (lambda t: t.replace("Vertrag]", "Ver*trag]"), "'*' may only end a word"),
        (
            lambda t: t.replace("names: [Allemagne, Berlin, Merz, Deutschland]", "names: []"),
            "sides.1.names: Tuple should have at least 1 item",
        ),
        (
            lambda t: t + "exclusions:\n  - {name: x, kind: Bad Kind, terms: [y]}\n",
            "exclusions.0.kind: String should match pattern",
        ),
        (lambda t: t.replace("id: fr-de", "id: fr-de\nid2: [unclosed"), "invalid YAML"),
    ],
)
def test_bad_file_fails_with_one_line(tmp_path: Path, change: object, expected: str) -> None:
    path = write(tmp_path, change(MINIMAL))  # type: ignore[operator]
    with pytest.raises(ConfigError) as info:
        load_story(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_story(write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_story(tmp_path / "absent.yaml")


def test_load_stories_rejects_duplicates_and_nothing(tmp_path: Path) -> None:
    a = write(tmp_path, MINIMAL, "a.yaml")
    b = write(tmp_path, MINIMAL, "b.yaml")
    with pytest.raises(ConfigError, match="story id 'fr-de' already used"):
        load_stories([a, b])
    with pytest.raises(ConfigError, match="no story file"):
        load_stories([])
    assert [s.id for s in load_stories([a, BUNDLED])] == ["fr-de", "russia-dprk"]


def test_story_pickles_and_judges_the_same(tmp_path: Path) -> None:
    story = load_story(BUNDLED)
    clone = pickle.loads(pickle.dumps(story))
    assert isinstance(clone, Story)
    assert clone == story and clone.fingerprint == story.fingerprint
    title = "Putin and Kim sign a treaty in Pyongyang"
    text = "Russia and North Korea signed a mutual defence treaty on Wednesday."
    assert judge(clone, title, text) == judge(story, title, text)
    assert len(pickle.dumps(story)) < 100_000  # no compiled patterns travel with it

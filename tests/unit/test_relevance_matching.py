"""Term matching: how story names are found in real spellings, in many scripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.story import Story, load_story
from monitor.terms import compile_story, normalize, scan

BUNDLED = Path(__file__).resolve().parents[2] / "config" / "stories" / "russia-dprk.yaml"


@pytest.fixture(scope="module")
def story() -> Story:
    return load_story(BUNDLED)


def found(story: Story, text: str) -> list[str]:
    return [m.term for _, leaf in scan(compile_story(story), normalize(text)) for m in leaf.metas]


def kinds(story: Story, text: str) -> set[str]:
    return {m.kind for _, leaf in scan(compile_story(story), normalize(text)) for m in leaf.metas}


def test_normalize_folds_case_accents_dashes_quotes_and_spaces() -> None:
    assert normalize("CHOÏGOU  à\u00a0Séoul") == "choigou a seoul"
    assert normalize("Kim Jong‑un’s “visit” — ok") == "kim jong-un's “visit” - ok"
    assert normalize("Ёлка йод") == "елка иод"
    assert normalize("ＫＮ－２３") == "kn-23"
    assert normalize("북·러 北ㆍ露") == "북-러 北-露"
    assert normalize("line one\nline two") == "line one\nline two"


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("à l'invitation de Kim Jong Unla première visite", "Kim Jong-un"),
        ("KIM JONG-UN", "Kim Jong-un"),
        ("Kim Jongun", "Kim Jong-un"),
        ("the North Korean leader", "North Korea"),
        ("Nordkoreas Machthaber", "Nordkorea"),
        ("les soldats nord-coréens", "nord-coréen"),
        ("a Russian official", "Russia"),
        ("Sergueï Choïgou", "Choïgou"),
        ("делегация Северной Кореи", "Северная Корея"),
        ("с Северной Кореей", "Северная Корея"),
        ("визит в Россию", "Россия"),
        ("российский президент", "Россия"),
        ("встреча с Путиным", "Путин"),
        ("в Пхеньяне", "Пхеньян"),
        ("북한은 러시아와", "북한"),
        ("러시아와", "러시아"),
        ("김정은 국무위원장이", "김정은"),
        ("푸틴 대통령은", "푸틴"),
        ("俄罗斯总统普京表示", "普京"),
        ("Putins Besuch", "Putin"),
        ("Kims Zug", "Kim"),
    ],
)
def test_names_found_in_real_spellings(story: Story, text: str, term: str) -> None:
    assert term in found(story, text)


@pytest.mark.parametrize(
    "text",
    [
        "kimchi and kimono",  # "Kim" is short: no glued endings beyond "s"
        "Rasputin",  # names start a word
        "Russell Crowe",  # listed under ignore
        "조선일보 기자",  # a Seoul newspaper, not North Korea
        "조선업계 수주",  # shipbuilding
        "朝鲜半岛局势",  # the peninsula, both Koreas
        "South Korea and Seoul",
    ],
)
def test_look_alikes_are_not_sides(story: Story, text: str) -> None:
    assert not kinds(story, text) & {"side_a", "side_b", "pair"}


def test_words_naming_both_sides_count_as_a_pair(story: Story) -> None:
    for text in ("북·러 정상회담", "북러 조약", "북-러 밀착", "러북 관계"):
        assert "pair" in kinds(story, text), text


def test_hits_are_in_text_order_and_do_not_overlap(story: Story) -> None:
    text = normalize("Putin met Kim Jong Un; 북한과 러시아; 普京")
    hits = scan(compile_story(story), text)
    ats = [at for at, _ in hits]
    assert ats == sorted(ats)
    terms = [m.term for _, leaf in hits for m in leaf.metas if m.kind.startswith("side")]
    assert terms == ["Putin", "Kim Jong-un", "Kim Jong Un", "북한", "러시아", "普京"]


def test_other_story_files_work_the_same(tmp_path: Path) -> None:
    path = tmp_path / "fr-de.yaml"
    path.write_text(
        "sides:\n"
        "  - {name: France, names: [France, Macron]}\n"
        "  - {name: Germany, names: [Allemagne, Deutschland, Merz, Bundes*]}\n",
        encoding="utf-8",
    )
    story = load_story(path)
    assert found(story, "Macron reçu par la Bundesregierung") == ["Macron", "Bundes*"]
    assert found(story, "la France et l'Allemagne") == ["France", "Allemagne"]
    assert found(story, "les Allemands") == []  # a name finds longer forms, not other words

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from monitor.normalize import (
    clean_lines,
    is_noise_line,
    normalize_text,
    normalize_title,
    text_hash,
    title_from_document,
)


@pytest.mark.parametrize(
    "line",
    [
        "Étiquettes",
        ", , , ,",
        "Spread the love",
        "Partagez",
        "Lire aussi",
        "PREV Israël, pause humanitaire à Gaza. Mais maintenant la frontière avec le Liban",
        "NEXT Un responsable européen libéré en Iran demande la main de son petit ami – News",
        "Laisser un commentaire",
        "Votre adresse e-mail ne sera pas publiée. Les champs obligatoires sont indiqués avec *",
        "Read more »",
        "Share this article",
        "Lesen Sie auch:",
        "Читайте также",
        "관련 기사",
        "相关阅读",
        "続きを読む",
        "© 2024 Le Quotidien du Monde. Tous droits réservés.",
        "ⓒ 세계일보, 무단 전재 및 재배포 금지",
        "Temps de lecture : 4 min",
        "   ",
    ],
)
def test_furniture_lines_are_noise(line: str) -> None:
    assert is_noise_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Partagez vos impressions sur ce sommet historique, a écrit le ministre hier soir.",
        "Lire aussi entre les lignes du communiqué ne suffit pas à comprendre la position russe.",
        "Kremlin : « Visite d'État amicale »",
        "Le message de Kim Jong Un",
        "Poutine en Corée du Nord à la recherche d'armes, invitation de Kim Jong Un",
    ],
)
def test_article_lines_are_kept(line: str) -> None:
    assert not is_noise_line(line)


def test_quotes_dashes_spaces_and_case_are_unified() -> None:
    variants = [
        "Il salue le « ferme soutien » de Pyongyang – dit-il.",
        'il salue le "ferme soutien" de Pyongyang - dit-il.',
        "Il salue le “ferme soutien” de Pyongyang — dit\u2010il.",
        "Il\u00a0salue  le «\u202fferme soutien\u202f» de Pyongyang – dit-il .",
    ]
    forms = {normalize_text(v) for v in variants}
    assert len(forms) == 1, forms
    assert forms.pop() == 'il salue le"ferme soutien"de pyongyang - dit-il.'


def test_apostrophes_and_invisible_characters() -> None:
    assert normalize_text("L’attaché de presse") == normalize_text("L'attaché de\u00ad presse")
    assert normalize_text("ＫＣＮＡ ｆｕｌｌｗｉｄｔｈ") == "kcna fullwidth"


def test_paragraphs_kept_noise_and_title_repeats_dropped() -> None:
    raw = (
        "Titre du jour\nPartagez\n\nPremier paragraphe, assez long pour être gardé.\n"
        "Titre du jour\n\nLire aussi\nSecond paragraphe du texte.\nSpread the love\n"
    )
    assert normalize_text(raw, title="Titre du jour") == (
        "premier paragraphe, assez long pour être gardé.\nsecond paragraphe du texte."
    )


def test_edge_bylines_trimmed_but_cjk_prose_kept() -> None:
    assert normalize_text("Topwar\nUne phrase complète du corps.\nPar : A. B.") == (
        "une phrase complète du corps.\npar: a. b."
    )
    cjk = "kindle for pcをctrl+alt+kのショートカットキーで立ち上がらなくする方法"
    assert normalize_text(cjk + "\n本文です。") == cjk + "\n本文です。"


def test_normalize_is_idempotent_on_seeds(seed_dir: Path) -> None:
    for path in sorted(seed_dir.glob("*.txt")):
        title, body = title_from_document(path.read_text(encoding="utf-8"))
        once = normalize_text(body, title)
        assert once
        assert normalize_text(once, title) == once


def test_title_from_document_on_seeds(seed_dir: Path) -> None:
    docs = {
        p.name[:3]: title_from_document(p.read_text(encoding="utf-8"))
        for p in seed_dir.glob("*.txt")
    }
    title, body = docs["000"]
    assert title.startswith("L'attaché de presse du président russe")
    assert "Étiquettes" not in body and ", , , ," not in body
    title, body = docs["001"]
    assert title == "Poutine en Corée du Nord à la recherche d’armes, invitation de Kim Jong Un"
    assert title not in body  # the two repeats below the headline are gone
    assert "PREV " not in body and "Lire aussi" not in body
    title, body = docs["002"]
    assert "Spread the love" not in body and "Laisser un commentaire" not in body
    title, body = docs["003"]
    assert title.startswith("Rencontre avec Poutine et Kim Jong-un")
    assert body.startswith("Les deux dirigeants")
    assert title_from_document("Partagez\n\n, ,\n") == ("", "")


def test_clean_lines_keeps_case_and_punctuation() -> None:
    line = "Le « ferme soutien » de Pyongyang."
    text = f"Étiquettes\n{line}\n{line}\nPartagez"
    assert clean_lines(text) == "Le « ferme soutien » de Pyongyang."


def test_text_hash_is_sha256_of_normalized_text() -> None:
    normalized = normalize_text("Un texte « exemple ».")
    assert text_hash(normalized) == hashlib.sha256(normalized.encode()).hexdigest()
    assert text_hash(normalize_text('Un texte "exemple".')) == text_hash(normalized)


def test_normalize_title() -> None:
    assert normalize_title("VIDÉO – Poutine à Pyongyang") == "vidéo - poutine à pyongyang"

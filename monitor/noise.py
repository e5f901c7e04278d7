"""Boilerplate lines that survive extraction, in one multilingual list.

Trafilatura keeps short widget lines when they sit inside the article container
("Spread the love", "Lire aussi", a "PREV … NEXT …" pager, a comment form's
"Laisser un commentaire"). They are harmless to a reader but they pollute what
comes after extraction: fingerprints for duplicate detection match on shared
widgets, and relevance scoring counts words from a related-article teaser.

Every pattern matches a *whole short line* (case-insensitive), so the same
words inside a real paragraph are never touched. Add a language by adding
words to a group below; the alternation is compiled once.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_NOISE_LINE_CHARS", "drop_noise_lines", "is_noise_line", "is_template_junk"]

MAX_NOISE_LINE_CHARS = 160

# A related-article label alone, followed by a separator and the teaser headline, or
# by a few words ("LIRE AUSSI SUR REGARDS.FR"); a longer run without a separator
# ("Lire aussi les déclarations du Kremlin permet de…") is a sentence.
_TEASER = r"(?:\s*[:：»›>|\-–—].*|(?:\s+\S+){0,5})"
# Each group: lines that are *only* this widget (optional trailing punctuation/counter).
_SHARE = [
    r"spread the love",
    r"share( this( article| story| post)?)?( on \w+)?",
    r"tweet",
    r"partage[rz]?( (cet|l'|l’)\s?article)?( sur \w+)?",
    r"imprimer",
    r"print( this)?",
    r"e-?mail",
    r"whatsapp",
    r"facebook",
    r"twitter",
    r"linkedin",
    r"telegram",
    r"teilen",
    r"artikel teilen",
    r"drucken",
    r"compartir( en \w+)?",
    r"imprimir",
    r"condividi( su \w+)?",
    r"stampa",
    r"поделиться",
    r"распечатать",
    r"공유하기",
    r"공유",
    r"인쇄",
    r"copy link",
    r"copier le lien",
    r"link kopieren",
]
_RELATED = [
    r"(à )?lire aussi" + _TEASER,
    r"(à )?lire également" + _TEASER,
    r"voir aussi" + _TEASER,
    r"sur le même sujet",
    r"read (more|also|next)" + _TEASER,
    r"see also" + _TEASER,
    r"related( articles?| stories| posts)?",
    r"more on this( story| topic)?",
    r"recommended( for you)?",
    r"lesen sie (auch|mehr)" + _TEASER,
    r"mehr zum thema" + _TEASER,
    r"das könnte sie auch interessieren",
    r"lee (también|más)" + _TEASER,
    r"leer más" + _TEASER,
    r"te puede interesar" + _TEASER,
    r"leggi (anche|tutto)" + _TEASER,
    r"potrebbe interessarti" + _TEASER,
    r"читайте также" + _TEASER,
    r"смотрите также" + _TEASER,
    r"по теме" + _TEASER,
    r"관련\s?기사" + _TEASER,
    r"함께 (보면 좋은|볼만한) 기사" + _TEASER,
    r"추천\s?기사" + _TEASER,
]
_COMMENTS = [
    r"laisser un commentaire\b.*",
    r"laissez un commentaire\b.*",
    r"\d+ commentaires?",
    r"votre adresse e-?mail ne sera pas publiée\b.*",
    r"commentaires?",
    r"leave a (comment|reply)\b.*",
    r"\d+ comments?",
    r"comments?",
    r"your email address will not be published\b.*",
    r"post a comment\b.*",
    r"kommentar (schreiben|hinterlassen)\b.*",
    r"\d+ kommentare?",
    r"kommentare?",
    r"deja un comentario\b.*",
    r"\d+ comentarios?",
    r"comentarios?",
    r"lascia un commento\b.*",
    r"\d+ commenti",
    r"commenti",
    r"оставить комментарий\b.*",
    r"комментари[йи]",
    r"\d+ комментари\w*",
    r"댓글( \d+)?",
    r"댓글\s?쓰기\b.*",
]
_NAVIGATION = [
    r"(?-i:PREV|NEXT)\b.*",
    r"(prev|previous|next|précédent|suivant)\s*[:»›>].*",
    r"(previous|next|older|newer) (article|post|story)\b.*",
    r"article (précédent|suivant)\b.*",
    r"(vorheriger|nächster) (artikel|beitrag)\b.*",
    r"(artículo|entrada|nota) (anterior|siguiente)\b.*",
    r"(siguiente|anterior) (artículo|entrada|nota)\b.*",
    r"articolo (precedente|successivo)\b.*",
    r"(предыдущая|следующая) (статья|новость)\b.*",
    r"(이전|다음)\s?기사\b.*",
    r"back to top",
    r"retour en haut( de page)?",
    r"nach oben",
    r"volver arriba",
    r"torna su",
    r"accueil",
    r"home( page)?",
    r"startseite",
    r"inicio",
    r"главная",
    r"홈",
]
_TAGS = [
    r"étiquettes?\s*:?.*",
    r"tags?\s*:.*",
    r"tags?",
    r"mots[- ]clés?\s*:?.*",
    r"schlagwörter\s*:?.*",
    r"schlagworte\s*:?.*",
    r"etiquetas\s*:?.*",
    r"temas\s*:.*",
    r"argomenti\s*:?.*",
    r"теги\s*:?.*",
    r"метки\s*:?.*",
    r"태그\s*:?.*",
    r"키워드\s*:?.*",
    r"filed under\b.*",
    r"posted in\b.*",
    r"classé dans\b.*",
]
_PROMO = [
    r"cliquez ici\b.*",
    r"click here\b.*",
    r"hier klicken\b.*",
    r"haga clic aquí\b.*",
    r"abonnez-vous\b.*",
    r"s[’']abonner\b.*",
    r"subscribe( now| to our newsletter)?\b.*",
    r"sign up for\b.*newsletter.*",
    r"newsletter",
    r"jetzt abonnieren\b.*",
    r"suscríbete\b.*",
    r"iscriviti\b.*",
    r"подписывайтесь\b.*",
    r"구독하기",
    r"publicité",
    r"advertisement",
    r"anzeige",
    r"werbung",
    r"publicidad",
    r"pubblicità",
    r"реклама",
    r"광고",
    r"passez en revue",
    r"follow us( on \w+)?",
    r"suivez-nous( sur \w+)?",
]

_LEGAL_AND_MISC = [
    r"(©|ⓒ|\(c\)|copyright ).{0,80}",
    r".{0,60}(tous droits réservés|all rights reserved|alle rechte vorbehalten).{0,40}",
    r".{0,60}(все права защищены|todos los derechos reservados|tutti i diritti riservati).{0,40}",
    r".{0,40}(無断転載|무단 ?전재|재배포 금지|版权所有|版權所有).{0,40}",
    r"temps de lecture.*",
    r"lecture\s?:? \d+ min.*",
    r"\d+ min(utes)? (de lecture|read)",
    r"reading time.*",
    r"lire (la suite|plus)\b.*",
    r"en savoir plus",
    r"continue reading\b.*",
    r"dans la même rubrique",
    r"articles? similaires?",
    r"à voir aussi",
    r"vous avez aimé cet article\b.*",
    r"inscrivez-vous\b.*",
    r"recevez .*newsletter.*",
    r"les champs obligatoires sont indiqués\b.*",
    r"required fields are marked\b.*",
    r"annuler la réponse",
    r"réagir",
    r"répondre",
    r"sommaire",
    r"post navigation",
    r"you may also like",
    r"top stories",
    r"sponsored( content)?",
    r"partagez-le",
    r"compartilhe",
    r"leia (também|mais)" + _TEASER,
    r"publicidade",
    r"comentários?",
    r"udostępnij",
    r"czytaj (też|także|więcej)" + _TEASER,
    r"komentarze",
    r"分享(到.*)?",
    r"相关(阅读|文章|新闻)" + _TEASER,
    r"阅读全文",
    r"评论",
    r"广告",
    r"【?责任编辑.*",
    r"シェア",
    r"関連記事" + _TEASER,
    r"続きを読む",
    r"コメント",
    r"広告",
    r"ツイート",
]

_GROUPS = (_SHARE, _RELATED, _COMMENTS, _NAVIGATION, _TAGS, _PROMO, _LEGAL_AND_MISC)
_NOISE = re.compile(
    r"^[\s\W]*(?:" + "|".join(p for group in _GROUPS for p in group) + r")[\s\W\d]*$",
    re.IGNORECASE,
)
# Lines with no letter or digit at all: leftover separators of stripped tag lists (", , , ,").
_NO_WORD = re.compile(r"^[\W_]*$")
# Client-side template placeholders (AngularJS, Vue, Handlebars): never article prose.
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{\{[^}]*$|^[^{]*\}\}")


def _fold(line: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", line).casefold().split())


def is_noise_line(line: str) -> bool:
    """True for a short line that is only a share/related/comment/pager/tag widget."""
    stripped = line.strip()
    if not stripped:
        return False
    if _NO_WORD.match(stripped) or _PLACEHOLDER.search(stripped):
        return True
    if len(stripped) > MAX_NOISE_LINE_CHARS:
        return False
    return _NOISE.match(stripped) is not None


def drop_noise_lines(text: str, *titles: str) -> str:
    """Text without widget lines or title repeats at its start; blank lines collapsed.

    The title is repeated at the top of many extractions (page heading, then a
    share-box heading), in its og:title or h1 variant; only leading copies go,
    a title quoted later is prose.
    """
    folded_titles = {_fold(title) for title in titles if title.strip()}
    kept: list[str] = []
    for raw in text.splitlines():
        line = _unwrap_layout_row(raw.strip())
        if not line or is_noise_line(line):
            continue
        if not kept and _fold(line) in folded_titles:
            continue
        kept.append(line)
    return "\n".join(kept)


def _unwrap_layout_row(line: str) -> str:
    """A table row with a single non-empty cell is page layout, not a table: keep the cell."""
    if not line.startswith("|"):
        return line
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    filled = [cell for cell in cells if cell]
    return filled[0] if len(filled) == 1 else line


def is_template_junk(text: str) -> bool:
    """An extraction that is mostly unrendered template markup (client-side pages).

    Such pages have an empty shell server-side; extracting them gives placeholders
    and editor chrome, which must be treated as "no body", not as an article.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return False
    templated = sum(1 for line in lines if _PLACEHOLDER.search(line))
    return templated * 4 >= len(lines)

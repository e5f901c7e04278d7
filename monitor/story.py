"""Story definition files (``config/stories/*.yaml``) loaded into pydantic models.

A story file is written by an editor, not a programmer: two *sides* whose
relationship we follow, each with its names in many languages, *topic* terms
that make a co-mention a relationship, *exclusions* naming the neighbouring
stories that must not be filed, and two thresholds. Nothing about any
particular story lives in code, so tracking another story is adding a file.

Names and terms may be given as a plain list or grouped by language (the
grouping is for the reader: every term is looked for in every text). A bad
file fails at load time with one line ``file: field: reason``, because a story
that silently matches nothing would quietly file every item as off-story.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.config import format_validation_error, read_yaml
from monitor.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _flatten_terms(value: Any) -> Any:
    """Accept ``[a, b]`` or ``{fr: [a], en: [b]}``; keep the written order, drop repeats."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping):
        items: list[Any] = []
        for lang_terms in value.values():
            if lang_terms is None:
                continue
            if isinstance(lang_terms, str):
                items.append(lang_terms)
            elif isinstance(lang_terms, list | tuple):
                items.extend(lang_terms)
            else:
                raise ValueError("expected a list of terms under each language")
        value = items
    if not isinstance(value, list | tuple):
        raise ValueError("expected a list of terms, or a mapping language -> list")
    seen: dict[str, None] = {}
    for term in value:
        if not isinstance(term, str | int | float):
            raise ValueError(f"expected text, got {type(term).__name__}")
        text = str(term).strip()
        if not text:
            raise ValueError("empty term")
        seen.setdefault(text, None)
    return tuple(seen)


class Side(_Strict):
    """One party of the relationship: its names, and look-alikes that are not it."""

    name: str = Field(min_length=1)
    names: tuple[str, ...] = Field(min_length=1)
    ignore: tuple[str, ...] = ()

    flatten_names = field_validator("names", "ignore", mode="before")(_flatten_terms)


class TopicGroup(_Strict):
    """Terms that, next to both sides, show the item is about their relationship."""

    name: str = Field(min_length=1)
    terms: tuple[str, ...] = Field(min_length=1)

    flatten_terms = field_validator("terms", mode="before")(_flatten_terms)


class Exclusion(_Strict):
    """A neighbouring story (``kind``) whose dominance pulls the score down."""

    name: str = Field(min_length=1)
    kind: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    terms: tuple[str, ...] = Field(min_length=1)
    weight: float = Field(default=1.0, ge=0, le=5)

    flatten_terms = field_validator("terms", mode="before")(_flatten_terms)


class Weights(_Strict):
    """Points of each kind of evidence; see ``monitor.relevance`` for how they add up."""

    title_pair: float = Field(default=3.0, ge=0)
    title_side: float = Field(default=0.75, ge=0)
    title_none: float = Field(default=1.0, ge=0)
    title_topic: float = Field(default=0.75, ge=0)
    title_lead_pair: float = Field(default=1.0, ge=0)
    lead_pair: float = Field(default=1.5, ge=0)
    pair_sentence: float = Field(default=1.0, ge=0)
    max_pair_sentences: int = Field(default=5, ge=0)
    pair_paragraph: float = Field(default=0.5, ge=0)
    max_pair_paragraphs: int = Field(default=2, ge=0)
    topic_group: float = Field(default=0.75, ge=0)
    max_topic_groups: int = Field(default=4, ge=0)
    coverage: float = Field(default=2.0, ge=0)
    exclusion: float = Field(default=6.0, ge=0)
    title_exclusion: float = Field(default=2.0, ge=0)


class Thresholds(_Strict):
    on_story: float = 6.0
    review: float = 3.5

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.on_story:
            raise ValueError("review must not be above on_story")
        return self


class Story(_Strict):
    """A tracked story. Picklable: compiled patterns live in a per-process cache."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = ""
    description: str = ""
    sides: tuple[Side, Side]
    pair_names: tuple[str, ...] = ()
    topics: tuple[TopicGroup, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    thresholds: Thresholds = Thresholds()
    weights: Weights = Weights()

    _fingerprint: str = PrivateAttr(default="")

    flatten_pairs = field_validator("pair_names", mode="before")(_flatten_terms)

    @field_validator("sides", mode="before")
    @classmethod
    def _two_sides(cls, value: Any) -> Any:
        if isinstance(value, Sequence) and not isinstance(value, str) and len(value) != 2:
            raise ValueError(f"a story follows exactly two sides, got {len(value)}")
        return value

    def model_post_init(self, context: Any, /) -> None:
        digest = hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()
        self._fingerprint = digest[:16]

    @property
    def fingerprint(self) -> str:
        """Content digest: two loads of one file share compiled patterns."""
        return self._fingerprint


def load_story(path: Path) -> Story:
    """Read and validate one story file; every problem is one ``file: field: reason`` line."""
    from monitor.terms import compile_story  # the matcher validates the terms too

    data = read_yaml(path)
    if not isinstance(data, dict):
        kind = "empty file" if data is None else type(data).__name__
        raise ConfigError(f"{path}: (top level): expected a mapping, got {kind}")
    data.setdefault("id", path.stem)
    try:
        story = Story.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc).split("; ")[0]) from exc
    try:
        compile_story(story)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return story


def load_stories(paths: Sequence[Path]) -> tuple[Story, ...]:
    """All configured stories; ids must differ because items record the story id."""
    if not paths:
        raise ConfigError("stories: no story file configured (add config/stories/*.yaml)")
    stories = tuple(load_story(Path(p)) for p in paths)
    seen: dict[str, Path] = {}
    for path, story in zip(paths, stories, strict=True):
        if story.id in seen:
            raise ConfigError(f"{path}: id: story id {story.id!r} already used by {seen[story.id]}")
        seen[story.id] = Path(path)
    return stories

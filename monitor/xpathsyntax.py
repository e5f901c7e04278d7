"""The XPath subset :mod:`monitor.xpathc` compiles: its tokens, syntax tree and parser.

Kept apart from the code generation so each stays readable. Anything outside
the subset raises :class:`Unsupported`, and the expression keeps lxml's XPath.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

__all__ = ["Part", "Unsupported", "parse"]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'[^']*'|"[^"]*")
    | (?P<num>\d+)
    | (?P<op>\.//|//|::|[()\[\]|,=@*])
    | (?P<name>[A-Za-z_][\w.-]*(?::[A-Za-z_][\w-]*)?)
    )""",
    re.VERBOSE,
)
_NAME = re.compile(r"[A-Za-z_][\w.-]*")


class Unsupported(ValueError):
    """The expression uses XPath beyond the compiled subset (it keeps lxml's XPath)."""


@dataclass(frozen=True, slots=True)
class Lit:
    value: str


@dataclass(frozen=True, slots=True)
class Attrs:
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SelfIs:
    name: str


@dataclass(frozen=True, slots=True)
class Child:
    name: str


@dataclass(frozen=True, slots=True)
class Desc:
    name: str


@dataclass(frozen=True, slots=True)
class Eq:
    left: Attrs | Child
    right: str


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


Node = Lit | Attrs | SelfIs | Child | Desc | Eq | Call | Or | And


@dataclass(frozen=True, slots=True)
class Part:
    """One path of a union: its axis, name test, predicates and how many it keeps."""

    absolute: bool  # "//" (from the document root) or ".//" (below the context)
    name: str  # "*" or an element name
    preds: tuple[Node, ...] = ()
    mode: str = "all"  # "all", "first" ((path)[1]) or "first_sibling" (step[...][1])
    tags: frozenset[str] | None = field(default=None)  # what the walk filters on


_FUNCTIONS = {"not": (1, 1), "contains": (2, 2), "starts-with": (2, 2)}
_FUNCTIONS |= {"translate": (3, 3), "re:test": (2, 3)}


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if not text[pos:].strip():
                break
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise Unsupported(f"cannot read {text[pos : pos + 20]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def accept(self, value: str) -> bool:
        if self.peek()[1] == value and self.peek()[0] in ("op", "name"):
            self.pos += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            raise Unsupported(f"expected {value!r}, found {self.peek()[1]!r}")

    def name(self) -> str:
        kind, value = self.take()
        if kind != "name" or not _NAME.fullmatch(value):
            raise Unsupported(f"expected a name, found {value!r}")
        return value

    def literal(self) -> str:
        kind, value = self.take()
        if kind != "str":
            raise Unsupported(f"expected a string, found {value!r}")
        return value[1:-1]

    # paths

    def union(self) -> list[Part]:
        parts = [self.part()]
        while self.accept("|"):
            parts.append(self.part())
        if self.peek()[0] != "end":
            raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return parts

    def part(self) -> Part:
        if self.accept("("):
            inner = self.step()
            self.expect(")")
            self.first()
            if inner.mode != "all":
                raise Unsupported("a positional predicate inside (...)[1]")
            return replace(inner, mode="first")
        return self.step()

    def first(self) -> None:
        self.expect("[")
        if self.take() != ("num", "1"):
            raise Unsupported("only the positional predicate [1] is compiled")
        self.expect("]")

    def step(self) -> Part:
        if self.accept(".//"):
            absolute = False
        elif self.accept("//"):
            absolute = True
        else:
            raise Unsupported("only .// and // paths are compiled")
        name = "*" if self.accept("*") else self.name()
        preds: list[Node] = []
        mode = "all"
        while self.peek()[1] == "[":
            if self.peek(1)[0] == "num":
                self.first()
                mode = "first_sibling"
                break
            self.take()
            preds.append(self.or_())
            self.expect("]")
        if self.peek()[1] == "[":
            raise Unsupported("a predicate after [1]")
        return Part(absolute, name, tuple(preds), mode)

    # predicates

    def or_(self) -> Node:
        items = [self.and_()]
        while self.accept("or"):
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.eq()]
        while self.accept("and"):
            items.append(self.eq())
        return items[0] if len(items) == 1 else And(tuple(items))

    def eq(self) -> Node:
        left = self.primary()
        if self.accept("="):
            if not isinstance(left, Attrs | Child):
                raise Unsupported("= compares an attribute or a child element only")
            return Eq(left, self.literal())
        return left

    def primary(self) -> Node:
        kind, value = self.peek()
        if kind == "str":
            return Lit(self.literal())
        if self.accept("("):
            inner = self.or_()
            self.expect(")")
            return inner
        if self.accept("@"):
            names = [self.name()]
            while self.peek()[1] == "|" and self.peek(1)[1] == "@":
                self.pos += 2
                names.append(self.name())
            return Attrs(tuple(names))
        if self.accept(".//"):
            name = self.name()
            if self.peek()[1] in ("[", "/"):
                raise Unsupported(".//name with a predicate or a further step")
            return Desc(name)
        if kind == "name" and value == "self" and self.peek(1)[1] == "::":
            self.pos += 2
            return SelfIs(self.name())
        if kind == "name" and value in _FUNCTIONS and self.peek(1)[1] == "(":
            self.pos += 2
            args = [self.or_()]
            while self.accept(","):
                args.append(self.or_())
            self.expect(")")
            low, high = _FUNCTIONS[value]
            if not low <= len(args) <= high:
                raise Unsupported(f"{value}() with {len(args)} arguments")
            return Call(value, tuple(args))
        if kind == "name" and self.peek(1)[1] not in ("(", "::"):
            return Child(self.name())
        raise Unsupported(f"unexpected {value!r}")


def parse(path: str) -> list[Part]:
    """The parts of a union path (one part for a plain path)."""
    return _Parser(path).union()

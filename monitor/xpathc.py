"""trafilatura's XPath expressions, compiled to Python that gives the same nodes faster.

Why: trafilatura prunes and searches every page with about twenty XPath
expressions (``trafilatura.xpaths``). libxml2 walks ``.//*`` through every node,
text included, and each EXSLT ``re:test`` calls back into Python through lxml's
argument conversion. Measured on the benchmark's 181 pages (one process, a timer
on each expression): 7.8 ms of a 24.6 ms analysis went into them. The same tests
done by a C-level ``iterdescendants(tags)`` and one generated Python function
per expression take a fraction of that.

What: a compiler for the small XPath subset those expressions use, nothing more:

* paths ``.//name``, ``.//*``, ``//...`` (from the document root), unions of
  them (``a|b``), ``(path)[1]`` (first in document order) and ``step[...][1]``
  (first matching child of each parent);
* predicates with ``or``, ``and``, ``not()``, ``self::name``, ``@a`` and
  ``@a|@b`` (existence; as a string, the first of them in attribute order, as
  libxml2 does), ``@a='s'``, a child element ``name`` and ``name='s'``,
  ``.//name`` (existence), ``contains``, ``starts-with``, ``translate`` and
  EXSLT ``re:test`` with a literal pattern (Python's ``re``, as lxml's own
  ``re:test`` uses, compiled the way lxml compiles it).

An expression with anything else keeps its lxml ``XPath``, and so does a call
the compiled form cannot answer for (a context that is not an element, ``//``
from an element that is not its document's root, XPath variables, or an
exception in the compiled form). The same nodes in the same order: checked
against lxml by ``tests/unit/test_xpathc.py`` on pages built to hit each
construct, random pages and the fixture pages, and by
``tests/integration/test_xpathc_corpus.py`` on every call made while
extracting the 384 corpus pages.

:func:`install` swaps the compiled forms into trafilatura's lists in place (its
modules import the lists themselves, so the swap reaches every user); it is
called where pages are extracted, never by importing this module.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from lxml import etree

from monitor.xpathsyntax import (
    And,
    Attrs,
    Call,
    Child,
    Desc,
    Eq,
    Lit,
    Node,
    Or,
    Part,
    SelfIs,
    Unsupported,
    parse,
)

__all__ = [
    "CompiledXPath",
    "Unsupported",
    "compile_xpath",
    "expressions",
    "install",
    "installed",
    "lxml_form",
]

LOGGER = logging.getLogger(__name__)

_MEMO_LIMIT = 4096
_MEMO_MAX_CHARS = 256  # a longer value is searched, not kept: hostile pages send megabytes


class _Memo(dict[str, bool]):
    """A pattern's answers by string: class and id values repeat across a page and a site.

    Looked up with ``memo[s]`` in C; only a string not seen yet costs a call.
    Cleared when full (4,096 strings of at most 256 characters; a page has a few
    hundred distinct values), so a long-lived worker's memory stays bounded.
    """

    def __init__(self, search: Callable[[str], Any]) -> None:
        super().__init__()
        self.search = search

    def __missing__(self, key: str) -> bool:
        found = self.search(key) is not None
        if len(key) > _MEMO_MAX_CHARS:
            return found
        if len(self) >= _MEMO_LIMIT:
            self.clear()
        self[key] = found
        return found


class _Gen:
    """Python source for one expression's tests on ``el`` (with ``tag`` and its attributes)."""

    def __init__(self) -> None:
        self.consts: dict[str, Any] = {}
        self.attrs: dict[str, str] = {}
        self.uses_tag = False

    def const(self, value: Any) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def attr(self, name: str) -> str:
        return self.attrs.setdefault(name, f"_a{len(self.attrs)}")

    def boolean(self, node: Node) -> str:
        if isinstance(node, Or | And):
            joiner = " or " if isinstance(node, Or) else " and "
            return "(" + joiner.join(self.boolean(item) for item in node.items) + ")"
        if isinstance(node, SelfIs):
            self.uses_tag = True
            return f"(tag == {node.name!r})"
        if isinstance(node, Attrs):
            return "(" + " or ".join(f"{self.attr(n)} is not None" for n in node.names) + ")"
        if isinstance(node, Eq):
            if isinstance(node.left, Child):
                return f"_child_eq(el, {node.left.name!r}, {node.right!r})"
            tests = (f"{self.attr(n)} == {node.right!r}" for n in node.left.names)
            return "(" + " or ".join(tests) + ")"
        if isinstance(node, Child):
            return f"_has_child(el, {node.name!r})"
        if isinstance(node, Desc):
            return f"_has_desc(el, {node.name!r})"
        if isinstance(node, Call):
            return self.call(node)
        raise Unsupported(f"{node} as a condition")

    def call(self, node: Call) -> str:
        args = node.args
        if node.name == "not":
            return f"(not {self.boolean(args[0])})"
        if node.name in ("contains", "starts-with"):
            needle = self.literal(args[1])
            haystack = self.string(args[0])
            if node.name == "contains":
                return f"({needle!r} in {haystack})"
            return f"{haystack}.startswith({needle!r})"
        if node.name == "re:test":
            flags = self.literal(args[2]) if len(args) == 3 else ""
            # lxml's re:test: Python's re, IGNORECASE when the flags contain "i"
            pattern = re.compile(self.literal(args[1]), re.I if "i" in flags else 0)
            return f"{self.const(_Memo(pattern.search))}[{self.string(args[0])}]"
        raise Unsupported(f"{node.name}() as a condition")

    def literal(self, node: Node) -> str:
        if not isinstance(node, Lit):
            raise Unsupported("a function argument that must be a string literal is not")
        return node.value

    def string(self, node: Node) -> str:
        if isinstance(node, Lit):
            return repr(node.value)
        if isinstance(node, Attrs):
            values = [self.attr(n) for n in node.names]
            if len(values) == 1:
                return f"({values[0]} or '')"
            if len(values) == 2:  # inline: both present is the only case that needs the order
                a, b = values
                names = node.names
                return (
                    f"(({b} or '') if {a} is None else "
                    f"({a} if {b} is None else _first(el, {names!r}, ({a}, {b}))))"
                )
            return f"_first(el, {node.names!r}, ({', '.join(values)},))"
        if isinstance(node, Call) and node.name == "translate":
            source, target = self.literal(node.args[1]), self.literal(node.args[2])
            table: dict[int, int | None] = {}
            for i, char in enumerate(source):
                table.setdefault(ord(char), ord(target[i]) if i < len(target) else None)
            return f"{self.string(node.args[0])}.translate({self.const(table)})"
        raise Unsupported(f"{node} as a string")

    def prologue(self, indent: str) -> list[str]:
        lines = [f"{indent}get = el.get"]
        lines += [f"{indent}{var} = get({name!r})" for name, var in self.attrs.items()]
        if self.uses_tag:
            lines.append(f"{indent}tag = el.tag")
        return lines


def _without_attributes(node: Node) -> bool | None:
    """The condition's value on an element with none of the attributes it reads (None: depends)."""
    if isinstance(node, Or | And):
        values = [_without_attributes(item) for item in node.items]
        decisive = isinstance(node, Or)
        if decisive in values:
            return decisive
        return None if None in values else not decisive
    if isinstance(node, Attrs):
        return False
    if isinstance(node, Eq):
        return False if isinstance(node.left, Attrs) else None
    if isinstance(node, Call):
        if node.name == "not":
            inner = _without_attributes(node.args[0])
            return None if inner is None else not inner
        text = _empty_string(node.args[0])
        if text is None or not all(isinstance(a, Lit) for a in node.args[1:]):
            return None
        literals = [a.value for a in node.args[1:] if isinstance(a, Lit)]
        if node.name == "contains":
            return literals[0] in text
        if node.name == "starts-with":
            return text.startswith(literals[0])
        if node.name == "re:test":
            flags = re.I if len(literals) > 1 and "i" in literals[1] else 0
            return re.search(literals[0], text, flags) is not None
    return None


def _empty_string(node: Node) -> str | None:
    if isinstance(node, Attrs):
        return ""
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Call) and node.name == "translate":
        inner = _empty_string(node.args[0])
        return None if inner else inner  # translate("") is ""
    return None


def _first(el: Any, names: tuple[str, ...], values: tuple[str | None, ...]) -> str:
    """``string(@a|@b)``: the value of whichever comes first in the element's attributes."""
    present = {n: v for n, v in zip(names, values, strict=True) if v is not None}
    for key in el.keys():  # noqa: SIM118 (iterating an element gives its children)
        if key in present:
            return present[key] or ""
    return ""


_STRING_VALUE = etree.XPath("string()")


def _child_eq(el: Any, name: str, value: str) -> bool:
    return any(_STRING_VALUE(child) == value for child in el.iterchildren(name))


def _has_child(el: Any, name: str) -> bool:
    return next(el.iterchildren(name), None) is not None


def _has_desc(el: Any, name: str) -> bool:
    return next(el.iterdescendants(name), None) is not None


_HELPERS = {
    "_first": _first,
    "_child_eq": _child_eq,
    "_has_child": _has_child,
    "_has_desc": _has_desc,
}


def _tag_filter(part: Part) -> Part:
    """Move a leading ``self::a or self::b`` test into the walk (lxml filters tags in C)."""
    if part.name != "*":
        return replace(part, tags=frozenset([part.name]))
    if not part.preds:
        return part
    head = part.preds[0]
    names = [head] if isinstance(head, SelfIs) else list(head.items) if isinstance(head, Or) else []
    if names and all(isinstance(n, SelfIs) for n in names):
        tags = frozenset(n.name for n in names if isinstance(n, SelfIs))
        return replace(part, preds=part.preds[1:], tags=tags)
    return part


Predicate = Callable[[Any], bool]
Walker = Callable[[Iterator[Any]], list[Any]]


def _generate(part: Part, *, check_tag: bool) -> tuple[Predicate, Walker]:
    """A predicate for one element, and a loop that applies it to a whole walk.

    The loop is the fast path (one expression, every match or the first): no
    call per element. An element with none of the attributes the condition
    reads is skipped before the condition, when the condition is then false.
    """
    gen = _Gen()
    tests = [gen.boolean(p) for p in part.preds]
    if check_tag and part.tags is not None:
        gen.uses_tag = True
        tests.insert(0, f"(tag in {gen.const(part.tags)})")
    body = " and ".join(tests) or "True"
    condition = And(part.preds) if part.preds else None
    skip = ""
    if gen.attrs and condition is not None and _without_attributes(condition) is False:
        skip = " and ".join(f"{var} is None" for var in gen.attrs.values())
    keep = "return [el]" if part.mode == "first" else "append(el)"
    lines = ["def _pred(el):", *gen.prologue("    ")]
    if skip:
        lines.append(f"    if {skip}: return False")
    lines += [f"    return {body}", "", "def _walker(walk):", "    out = []"]
    lines += ["    append = out.append", "    for el in walk:", *gen.prologue("        ")]
    if skip:
        lines.append(f"        if {skip}: continue")
    lines += [f"        if {body}:", f"            {keep}", "    return out"]
    namespace: dict[str, Any] = {**_HELPERS, **gen.consts}
    exec(compile("\n".join(lines), "<xpathc>", "exec"), namespace)
    return namespace["_pred"], namespace["_walker"]


@dataclass(frozen=True, slots=True)
class _Plan:
    absolute: bool
    walk_tags: tuple[Any, ...]  # lxml iter() filters: names, or etree.Element for "*"
    parts: tuple[tuple[Predicate, str], ...]
    walker: Walker | None  # the whole walk in one loop, where one part allows it


def _plan(parts: list[Part]) -> _Plan:
    if len({p.absolute for p in parts}) != 1:
        raise Unsupported("a union of // and .// paths")
    parts = [_tag_filter(p) for p in parts]
    if any(p.tags is None for p in parts):
        walk: tuple[Any, ...] = (etree.Element,)
    else:
        walk = tuple(sorted(set().union(*(p.tags or () for p in parts))))
    single = len(parts) == 1 and parts[0].mode != "first_sibling"
    generated = [_generate(p, check_tag=not single) for p in parts]
    compiled = tuple((pred, p.mode) for (pred, _), p in zip(generated, parts, strict=True))
    return _Plan(parts[0].absolute, walk, compiled, generated[0][1] if single else None)


def _run(plan: _Plan, ctx: Any) -> list[Any]:
    walk: Iterator[Any] = (
        ctx.iter(*plan.walk_tags) if plan.absolute else ctx.iterdescendants(*plan.walk_tags)
    )
    if plan.walker is not None:
        return plan.walker(walk)
    out: list[Any] = []
    done = [False] * len(plan.parts)
    only_firsts = all(mode == "first" for _, mode in plan.parts)
    # step[...][1] keeps the first match among each parent's children: the walk is in
    # document order, so that is the first match seen under that parent (a set
    # lookup, no second look at the preceding siblings).
    parents: list[set[Any]] = [set() for _ in plan.parts]
    for el in walk:
        hit = False
        for i, (pred, mode) in enumerate(plan.parts):
            if done[i] or not pred(el):
                continue
            if mode == "first_sibling":
                parent = el.getparent()
                if parent in parents[i]:
                    continue
                parents[i].add(parent)
            hit = True
            done[i] = mode == "first"
        if hit:
            out.append(el)
            if only_firsts and all(done):
                break
    return out


class CompiledXPath:
    """Callable like the lxml ``XPath`` it replaces, which it keeps for what it cannot answer."""

    __slots__ = ("_plan", "path", "xpath")

    def __init__(self, xpath: etree.XPath, plan: _Plan) -> None:
        self.xpath = xpath
        self.path: str = xpath.path
        self._plan = plan

    def __call__(self, ctx: Any, **variables: Any) -> Any:
        if variables or not isinstance(ctx, etree._Element):
            return self.xpath(ctx, **variables)
        if self._plan.absolute and (
            ctx.getparent() is not None or ctx.getroottree().getroot() is not ctx
        ):
            return self.xpath(ctx)
        try:
            return _run(self._plan, ctx)
        except Exception as exc:  # a bug here must cost speed on that page, never its article
            LOGGER.warning("compiled XPath failed, lxml answers: %s: %s", type(exc).__name__, exc)
            return self.xpath(ctx)

    def __repr__(self) -> str:
        return f"CompiledXPath({self.path.strip()!r})"


def compile_xpath(xpath: etree.XPath) -> CompiledXPath:
    """The compiled form of an lxml ``XPath``; :class:`Unsupported` outside the subset."""
    if not isinstance(xpath, etree.XPath):
        raise Unsupported(f"not an lxml XPath: {type(xpath).__name__}")
    return CompiledXPath(xpath, _plan(parse(xpath.path)))


_install_lock = threading.Lock()
_installed: dict[str, int] | None = None


_EXPRESSION = (etree.XPath, CompiledXPath)


def expressions() -> Iterator[tuple[str, int, list[Any]]]:
    """Every place in trafilatura's expression lists: (list name, index, the list).

    The item there is lxml's XPath or its compiled form, whether installed or not.
    """
    from trafilatura import xpaths

    for name, value in sorted(vars(xpaths).items()):
        if isinstance(value, list) and value and all(isinstance(x, _EXPRESSION) for x in value):
            for i in range(len(value)):
                yield name, i, value


def lxml_form(expression: etree.XPath | CompiledXPath) -> etree.XPath:
    """The lxml XPath of an expression, compiled or not."""
    return expression.xpath if isinstance(expression, CompiledXPath) else expression


def install() -> dict[str, int]:
    """Swap compiled forms into trafilatura's expression lists, once per process.

    Returns how many expressions of each list were compiled (the others keep
    lxml's XPath), for tests and the benchmark to report.
    """
    global _installed
    with _install_lock:
        if _installed is None:
            counts: dict[str, int] = {}
            for name, i, value in expressions():
                counts.setdefault(name, 0)
                try:
                    value[i] = compile_xpath(lxml_form(value[i]))
                except Unsupported:
                    continue
                counts[name] += 1
            _installed = counts
        return dict(_installed)


def installed() -> bool:
    return _installed is not None

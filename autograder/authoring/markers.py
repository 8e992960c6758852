"""Authoring step: solution markers: finds the regions the reference marks as solution and replaces them with stubs.

Two syntaxes, one behaviour. The course banners (kept in the student version, the stub goes
between them) and nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (removed, as nbgrader
does). Anything that looks like a marker but is not spelt exactly is an error, because a
misspelt banner would silently ship the solution.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

START_BANNER = "# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****"
END_BANNER = "# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"

# marker line -> (family, opens a region)
_MARKERS = {
    START_BANNER: ("banner", True),
    END_BANNER: ("banner", False),
    BEGIN_SOLUTION: ("nbgrader", True),
    END_SOLUTION: ("nbgrader", False),
}
_LOOKS_LIKE_BANNER = re.compile(r"(START|END)\s*OF\s*YOUR\s*CODE", re.IGNORECASE)
_LOOKS_LIKE_NBGRADER = re.compile(r"#+\s*(BEGIN|END)\s*SOLUTION\b", re.IGNORECASE)
_MAGIC = re.compile(r"^(\s*)[%!]")


class AuthoringError(Exception):
    """A problem in the reference material the author can fix; names the file and line."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        super().__init__(str(path), line, message)
        self.path, self.line, self.message = str(path), line, message

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Region:
    """One solution region of a source text; line numbers are 1-based, in the reference."""

    kind: str  # "banner" | "nbgrader"
    start: int  # line of the opening marker
    end: int  # line of the closing marker
    indent: str  # indentation of the opening marker, given to the stub
    body: tuple[str, ...]  # the solution lines between the markers
    qualname: str = ""  # enclosing function, filled in when stripping


@dataclass(frozen=True)
class Stripped:
    """A source text with its solution regions replaced by stubs."""

    text: str
    regions: tuple[Region, ...]


def _classify(line: str) -> str | None:
    """Return the exact marker on this line, "misspelt" for a near miss, or None."""
    text = line.strip()
    if text in _MARKERS:
        return text
    comment = line[line.find("#") :] if "#" in line else ""
    near_banner = _LOOKS_LIKE_BANNER.search(comment) and (
        "*" in comment or "DO NOT" in comment.upper()
    )
    if near_banner or _LOOKS_LIKE_NBGRADER.search(comment):
        return "misspelt"
    return None


def scan(text: str, label: str) -> list[Region]:
    """Find the solution regions of `text`; unbalanced, nested or misspelt markers raise."""
    lines = text.split("\n")
    regions: list[Region] = []
    opened: tuple[str, int] | None = None
    for number, line in enumerate(lines, 1):
        marker = _classify(line)
        if marker is None:
            continue
        if marker == "misspelt":
            raise AuthoringError(
                label,
                number,
                f"marker not spelt exactly (expected {START_BANNER!r}, {END_BANNER!r}, "
                f"{BEGIN_SOLUTION!r} or {END_SOLUTION!r}): {line.strip()!r}",
            )
        family, opens = _MARKERS[marker]
        if opens:
            if opened:
                raise AuthoringError(
                    label,
                    number,
                    f"nested marker: the region opened at line {opened[1]} is not closed",
                )
            opened = (family, number)
            continue
        if opened is None:
            raise AuthoringError(label, number, f"{marker!r} without an opening marker")
        if opened[0] != family:
            raise AuthoringError(
                label,
                number,
                f"{marker!r} closes the region opened at line {opened[1]} by a different marker",
            )
        start = opened[1]
        indent = lines[start - 1][: len(lines[start - 1]) - len(lines[start - 1].lstrip())]
        regions.append(Region(family, start, number, indent, tuple(lines[start : number - 1])))
        opened = None
    if opened:
        raise AuthoringError(label, opened[1], "opening marker without a closing marker")
    return regions


_WHERE = {
    "banner": "between the START/END OF YOUR CODE lines",
    "nbgrader": "in place of this line",
    "cell": "in this cell",
}


def stub_statement(qualname: str, file_label: str, kind: str) -> str:
    """The statement that replaces a region (or a cell, kind "cell"): fails clearly, says where."""
    message = f"{qualname}: not implemented yet — write your code {_WHERE[kind]} in {file_label}"
    return f"raise NotImplementedError({json.dumps(message, ensure_ascii=False)})"


def _render(lines: list[str], regions: list[Region], stubs: list[str]) -> tuple[str, list[int]]:
    """Replace each region by its stub; return the text and each stub's output line."""
    out: list[str] = []
    stub_lines: list[int] = []
    position = 0
    for region, stub in zip(regions, stubs, strict=True):
        out.extend(lines[position : region.start - 1])
        if region.kind == "banner":
            out.append(lines[region.start - 1])
        out.append(region.indent + stub)
        stub_lines.append(len(out))
        if region.kind == "banner":
            out.append(lines[region.end - 1])
        position = region.end
    out.extend(lines[position:])
    return "\n".join(out), stub_lines


def _mask_magics(text: str) -> str:
    """IPython magics and shell lines become `pass` so a notebook cell parses as Python."""
    return "\n".join(_MAGIC.sub(r"\1pass  #", line) for line in text.split("\n"))


def _scopes(node: ast.AST, prefix: str = "") -> Iterator[tuple[int, int, str, bool]]:
    """(first line, last line, qualified name, is a function) of every def/class, outermost first."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = prefix + child.name
            end = child.end_lineno or child.lineno
            yield child.lineno, end, name, not isinstance(child, ast.ClassDef)
            yield from _scopes(child, name + ".")
        else:
            yield from _scopes(child, prefix)


def _enclosing(tree: ast.AST, line: int) -> tuple[str, bool] | None:
    """The innermost def/class holding `line`, and whether it is a function."""
    inside = [
        (first, name, is_function)
        for first, last, name, is_function in _scopes(tree)
        if first < line <= last
    ]
    if not inside:
        return None
    _, name, is_function = max(inside)
    return name, is_function


def _parse(text: str) -> ast.Module | SyntaxError:
    try:
        return ast.parse(text)
    except SyntaxError as error:
        return error


def _nearest_region(regions: list[Region], stub_lines: list[int], line: int) -> int:
    """The reference line of the region whose stub is nearest an error in the stripped text."""
    distances = [abs(stub - line) for stub in stub_lines]
    return regions[distances.index(min(distances))].start


def _strip(text: str, file_label: str, toplevel: str | None) -> Stripped:
    """Strip `text`; `toplevel` names module-level regions (notebook cells), None forbids them."""
    regions = scan(text, file_label)
    if not regions:
        return Stripped(text, ())
    lines = text.split("\n")
    draft, stub_lines = _render(lines, regions, ["raise NotImplementedError()"] * len(regions))
    tree = _parse(_mask_magics(draft))
    if isinstance(tree, SyntaxError):
        reference = _parse(_mask_magics(text))
        if isinstance(reference, SyntaxError):
            if toplevel is None:
                raise AuthoringError(
                    file_label, reference.lineno, f"reference does not parse: {reference.msg}"
                )
            scopes: list[tuple[str, bool] | None] = [None] * len(regions)
        else:
            line = _nearest_region(regions, stub_lines, tree.lineno or 1)
            raise AuthoringError(
                file_label,
                line,
                f"stripped code does not parse ({tree.msg}); does a region cut a statement?",
            )
    else:
        scopes = [_enclosing(tree, line) for line in stub_lines]
    named = []
    for region, scope in zip(regions, scopes, strict=True):
        if toplevel is None and (scope is None or not scope[1]):
            raise AuthoringError(
                file_label,
                region.start,
                "solution region outside a function body: its stub would raise at import",
            )
        named.append(replace(region, qualname=scope[0] if scope else toplevel or ""))
    stubs = [stub_statement(region.qualname, file_label, region.kind) for region in named]
    stripped, _ = _render(lines, named, stubs)
    if not isinstance(tree, SyntaxError) and isinstance(
        _parse(_mask_magics(stripped)), SyntaxError
    ):
        raise AuthoringError(file_label, named[0].start, "stripped code does not parse")
    return Stripped(stripped, tuple(named))


def strip_python(text: str, file_label: str) -> Stripped:
    """Strip a .py file; every region must sit inside a function and the result must parse."""
    return _strip(text, file_label, None)


def strip_cell(source: str, file_label: str, cell_name: str) -> Stripped:
    """Strip a notebook code cell; module-level regions are allowed and named `cell_name`."""
    return _strip(source, file_label, cell_name)

"""Authoring step: mutation audit: owns measuring how well an assignment's checks catch bugs planted in the reference's solution regions.

Each mutant is the reference solution with one small change inside one solution region (the
lines a student writes): cosmic-ray's generic operators (arithmetic, comparisons, numbers, signs,
loops, booleans) plus deep-learning operators for the mistakes students make (swapped axes,
off-by-one slice ends, a dropped division, a dropped 0.5, stride or pad ignored, variance for
standard deviation, train/test swapped, momentum swapped). Every mutant is packed like a student
zip and graded by the real pipeline in the sandbox, with a fixed seed; it is *killed* when it
scores below the unmutated reference under the same options. A surviving mutant that is not
equivalent to the reference is a gap in the hidden cases. Outcomes are stored per mutant, so an
interrupted audit resumes where it stopped.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import shutil
import sys
import tempfile
import textwrap
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cosmic_ray.mutating  # noqa: F401  (imported first: it loads parso before the operator plugins)
import parso
import parso.python.tree as pt
from cosmic_ray.operators.operator import Operator
from cosmic_ray.plugins import get_operator

from autograder.archive import write_zip
from autograder.assignment import Assignment
from autograder.authoring.markers import scan
from autograder.grading.result import Result
from autograder.grading.run import RunOptions, grade_zip

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ARITHMETIC = ("Add", "Sub", "Mul", "Div", "FloorDiv", "Pow")
COMPARISONS = ("Lt", "LtE", "Gt", "GtE", "Eq", "NotEq")
GENERIC_OPERATORS = (
    *(f"core/ReplaceBinaryOperator_{a}_{b}" for a in ARITHMETIC for b in ARITHMETIC if a != b),
    *(f"core/ReplaceComparisonOperator_{a}_{b}" for a in COMPARISONS for b in COMPARISONS if a != b),
    "core/NumberReplacer", "core/ReplaceUnaryOperator_USub_UAdd", "core/ReplaceUnaryOperator_Delete_USub",
    "core/ZeroIterationForLoop", "core/ReplaceTrueWithFalse", "core/ReplaceFalseWithTrue",
    "core/ReplaceAndWithOr", "core/ReplaceOrWithAnd", "core/AddNot",
    "core/ReplaceBreakWithContinue", "core/ReplaceContinueWithBreak",
)  # fmt: skip
STRIDE_NAMES = frozenset({"stride", "stride_h", "stride_w", "S"})
PAD_NAMES = frozenset({"pad", "padding", "pad_h", "pad_w", "P"})
EQUIVALENTS_FILE = "audit.toml"  # in the assignment's folder: [[equivalent]] id = "...", why = "..."


# ------------------------------------------------------------------ deep-learning operators


def _text(node, code: str) -> pt.Name:
    """A leaf that prints `code` where `node` was (its leading whitespace kept)."""
    return pt.Name(code, node.start_pos, prefix=node.get_first_leaf().prefix)


def _bare(node) -> str:
    return node.get_code(include_prefix=False)


class _Rewrite(Operator):
    """An operator given by one function: node -> the replacement texts it offers."""

    def rewrites(self, node) -> list[str]:
        raise NotImplementedError

    def mutation_positions(self, node):
        for _ in self.rewrites(node):
            yield node.start_pos, node.end_pos

    def mutate(self, node, index):
        return _text(node, self.rewrites(node)[index])

    @classmethod
    def examples(cls):
        return ()


class SwapAxes(_Rewrite):
    """The wrong axes: `axis=(0, 2, 3)` -> `axis=(1, 2, 3)` (a reduction over a neighbour);
    `axes=(A, B)` -> `axes=(B, A)`; `x.transpose(1, 0, 2)` -> `x.transpose(0, 1, 2)`."""

    def rewrites(self, node) -> list[str]:
        if node.type == "argument" and node.children[0].type == "name" and node.children[0].value in ("axis", "axes"):
            keyword, items = node.children[0].value, _tuple_items(node.children[2])
            if keyword == "axis" and items and all(i.lstrip("-").isdigit() for i in items):
                spare = next(str(k) for k in range(len(items) + 1) if str(k) not in items)
                return [f"axis=({', '.join([spare, *items[1:]])}{',' if len(items) == 1 else ''})"]
            if keyword == "axes" and len(items) == 2:
                return [f"axes=({items[1]}, {items[0]})"]
        if node.type == "trailer" and node.children[0].type == "operator" and node.children[0].value == "(":
            previous = node.get_previous_sibling()
            if previous is not None and previous.type == "trailer" and _bare(previous) in (".transpose", ".swapaxes"):
                items = _arguments(node)
                if len(items) >= 2:
                    return [f"({', '.join([items[1], items[0], *items[2:]])})"]
        return []


class SliceEnd(_Rewrite):
    """`a:b` -> `a:b + 1` and `a:b - 1` (an off-by-one window)."""

    def rewrites(self, node) -> list[str]:
        if node.type != "subscript" or len(node.children) != 3 or _bare(node.children[1]) != ":":
            return []
        start, stop = _bare(node.children[0]), _bare(node.children[2])
        return [f"{start}:{stop} + 1", f"{start}:{stop} - 1"]


class DropDivision(_Rewrite):
    """`x / N` -> `x` (a dropped average)."""

    def rewrites(self, node) -> list[str]:
        if node.type != "term":
            return []
        parts = node.children
        for i in range(1, len(parts), 2):
            if _bare(parts[i]) == "/":
                kept = parts[:i] + parts[i + 2 :]
                return ["".join(p.get_code() for p in kept).strip()]
        return []


class DropHalf(_Rewrite):
    """`0.5 * reg * W` -> `reg * W` (the 0.5 of the L2 penalty)."""

    def rewrites(self, node) -> list[str]:
        if node.type != "term" or _bare(node.children[0]) not in ("0.5", ".5") or _bare(node.children[1]) != "*":
            return []
        return ["".join(p.get_code() for p in node.children[2:]).strip()]


class IgnoreStridePad(_Rewrite):
    """A use of `stride` -> 1, of `pad` -> 0 (the parameter ignored)."""

    def rewrites(self, node) -> list[str]:
        if node.type != "name" or node.is_definition() or _is_keyword_name(node):
            return []
        if node.value in STRIDE_NAMES:
            return ["1"]
        if node.value in PAD_NAMES:
            return ["0"]
        return []


class StdForVar(_Rewrite):
    """`np.sqrt(v + eps)` -> `(v + eps)`; `np.var` <-> `np.std`."""

    def rewrites(self, node) -> list[str]:
        code = _bare(node)
        if node.type == "atom_expr" and len(node.children) == 3 and code.startswith("np.sqrt("):
            return [_bare(node.children[2])]
        if node.type == "trailer" and code in (".var", ".std"):
            return [".std" if code == ".var" else ".var"]
        return []


class SwapMode(_Rewrite):
    """`'train'` <-> `'test'`."""

    def rewrites(self, node) -> list[str]:
        if node.type != "string":
            return []
        quote, value = node.value[0], node.value.strip("'\"")
        other = {"train": "test", "test": "train"}.get(value)
        return [f"{quote}{other}{quote}"] if other else []


class SwapMomentum(_Rewrite):
    """`(1 - momentum)` -> `momentum` (the running average's weights exchanged)."""

    def rewrites(self, node) -> list[str]:
        if node.type == "arith_expr" and len(node.children) == 3 and _bare(node.children[0]) in ("1", "1.0") \
                and _bare(node.children[1]) == "-" and node.children[2].type == "name":  # fmt: skip
            return [node.children[2].value]
        return []


DL_OPERATORS: dict[str, type[_Rewrite]] = {
    "dl/SwapAxes": SwapAxes, "dl/SliceEnd": SliceEnd, "dl/DropDivision": DropDivision, "dl/DropHalf": DropHalf,
    "dl/IgnoreStridePad": IgnoreStridePad, "dl/StdForVar": StdForVar, "dl/SwapMode": SwapMode,
    "dl/SwapMomentum": SwapMomentum,
}  # fmt: skip


def _tuple_items(node) -> list[str]:
    if node.type == "atom" and len(node.children) == 3 and node.children[1].type == "testlist_comp":
        return [_bare(c) for c in node.children[1].children if _bare(c) != ","]
    return []


def _arguments(trailer) -> list[str]:
    inner = trailer.children[1] if len(trailer.children) == 3 else None
    if inner is None or inner.type != "arglist":
        return []
    return [_bare(c) for c in inner.children if _bare(c) != ","]


def _is_keyword_name(node) -> bool:
    """The `stride` of `f(stride=2)` or of `x.stride`: a name, not a use of the variable."""
    parent = node.parent
    if parent.type == "argument" and parent.children[0] is node:
        return True
    return parent.type == "trailer" and _bare(parent.children[0]) == "."


# ------------------------------------------------------------------ mutants


class AuditError(Exception):
    """The audit cannot start: one line naming the cause and the fix."""



@dataclass(frozen=True)
class Mutant:
    id: str
    file: str  # the declared file name (layers.py)
    function: str  # the region's enclosing function
    line: int
    operator: str
    occurrence: int
    diff: str
    code: str  # the whole mutated file


@dataclass(frozen=True)
class AuditScope:
    """Which mutants to grade and how: the fixed seed, groups left out, and optional filters."""

    seed: int = 0
    skip_groups: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()  # grade only these questions (empty: all)
    functions: tuple[str, ...] = ()  # mutate only these functions (empty: all regions)
    operators: tuple[str, ...] = ()  # operator name prefixes, e.g. "dl/" (empty: all)


def mutants_of(assignment: Assignment, scope: AuditScope | None = None) -> list[Mutant]:
    """Every mutant of every solution region of the assignment's Python files (those in `scope`).

    Each function holding a region is mutated on its own text (dedented), which parses ~10x
    faster than the whole file, then spliced back in.
    """
    scope = scope or AuditScope()
    operators = [(name, op) for name, op in _operators() if not scope.operators or name.startswith(scope.operators)]
    found: dict[str, Mutant] = {}
    for spec in assignment.files:
        path = assignment.reference_dir / spec.dest
        if spec.kind != "python" or not path.is_file():
            continue
        original = path.read_text(encoding="utf-8")
        regions = [(r.start, r.end) for r in scan(original, spec.name)]
        for function, first, last in _functions_with_regions(original, regions):
            if scope.functions and function not in scope.functions:
                continue
            for mutant in _mutate_function(spec.name, original, function, first, last, regions, operators):
                found.setdefault(mutant.id, mutant)
    return sorted(found.values(), key=lambda m: (m.file, m.line, m.operator, m.occurrence))


def _functions_with_regions(code: str, regions: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """(qualified name, first line, last line) of each innermost function holding a region."""
    spans = {}
    for start, _ in regions:
        node, name = _innermost_function(ast.parse(code).body, start, "")
        if node is not None:
            spans[name] = (node.lineno, node.end_lineno or node.lineno)
    return [(name, first, last) for name, (first, last) in spans.items()]


def _mutate_function(file: str, original: str, function: str, first: int, last: int,
                     regions: list[tuple[int, int]], operators: list[tuple[str, Operator]]) -> Iterator[Mutant]:  # fmt: skip
    lines = original.splitlines(keepends=True)
    block = "".join(lines[first - 1 : last])
    snippet = textwrap.dedent(block)
    indent = _common_indent(block)
    for name, operator in operators:
        for occurrence, line in _occurrences(snippet, operator):
            file_line = first + line - 1
            if not any(start < file_line < end for start, end in regions):
                continue
            mutated_snippet = cosmic_ray.mutating.mutate_code(snippet, operator, occurrence)
            if mutated_snippet is None or mutated_snippet == snippet:
                continue
            mutated = "".join(lines[: first - 1]) + textwrap.indent(mutated_snippet, indent) + "".join(lines[last:])
            if not _compiles(mutated):
                continue
            digest = hashlib.sha256(f"{file}\0{mutated}".encode()).hexdigest()[:12]
            yield Mutant(digest, file, function, file_line, name, occurrence, _diff(original, mutated, file), mutated)


def _common_indent(block: str) -> str:
    """The indentation textwrap.dedent removed (the method's, for a method)."""
    widths = [len(line) - len(line.lstrip()) for line in block.splitlines() if line.strip()]
    return " " * min(widths, default=0)


def _operators() -> Iterator[tuple[str, Operator]]:
    for name in GENERIC_OPERATORS:
        yield name, get_operator(name)()
    for name, cls in DL_OPERATORS.items():
        yield name, cls()


def _occurrences(code: str, operator: Operator) -> Iterator[tuple[int, int]]:
    """(occurrence index, line) in the order cosmic-ray's MutationVisitor counts them."""
    count = 0
    for node in cosmic_ray.ast.ast_nodes(parso.parse(code)):
        for (line, _), _ in operator.mutation_positions(node):
            yield count, line
            count += 1


def _compiles(code: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        try:
            compile(code, "mutant", "exec")
        except (SyntaxError, ValueError):
            return False
    return True


def _innermost_function(nodes, line: int, prefix: str):
    """The innermost function holding `line` and its qualified name (`ThreeLayerConvNet.loss`)."""
    for node in nodes:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) \
                and node.lineno <= line <= (node.end_lineno or 0):  # fmt: skip
            name = f"{prefix}{node.name}"
            inner, inner_name = _innermost_function(node.body, line, f"{name}.")
            if inner is not None:
                return inner, inner_name
            return (None, "") if isinstance(node, ast.ClassDef) else (node, name)
    return None, ""


def _diff(original: str, mutated: str, name: str) -> str:
    lines = difflib.unified_diff(original.splitlines(keepends=True), mutated.splitlines(keepends=True),
                                 f"reference/{name}", f"mutant/{name}", n=1)  # fmt: skip
    return "".join(lines)


# ------------------------------------------------------------------ grading them


@dataclass
class Outcome:
    mutant: str
    status: str  # killed | survived | equivalent
    score: float
    lost: dict[str, float] = field(default_factory=dict)  # question id -> points lost


@dataclass
class AuditReport:
    assignment: str
    version: str
    scope: AuditScope
    baseline: float
    mutants: list[Mutant]
    outcomes: dict[str, Outcome]
    equivalent: dict[str, str]  # mutant id -> why
    graded_now: int  # mutants graded by this run (the rest came from the stored state)
    faults: list[str]  # mutants the grader itself failed on (status error): no outcome, graded again next run

    def by_function(self) -> dict[tuple[str, str], dict[str, int]]:
        table: dict[tuple[str, str], dict[str, int]] = {}
        for mutant in self.mutants:
            row = table.setdefault((mutant.file, mutant.function), {"killed": 0, "survived": 0, "equivalent": 0})
            outcome = self.outcomes.get(mutant.id)
            if outcome is not None:
                row[outcome.status] += 1
        return table

    def score(self, rows: list[dict[str, int]] | None = None) -> float:
        rows = rows if rows is not None else list(self.by_function().values())
        killed = sum(r["killed"] for r in rows)
        judged = killed + sum(r["survived"] for r in rows)
        return killed / judged if judged else 1.0

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if self.outcomes.get(m.id) and self.outcomes[m.id].status == "survived"]


def equivalents(assignment: Assignment) -> dict[str, str]:
    """Mutants the instructor has read and declared equivalent to the reference, with why."""
    path = assignment.root / EQUIVALENTS_FILE
    if not path.is_file():
        return {}
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return {entry["id"]: entry["why"] for entry in raw.get("equivalent", ())}


def run_audit(assignment: Assignment, out_dir: Path, scope: AuditScope, jobs: int,
              progress: Callable[[int, int], None] | None = None) -> AuditReport:  # fmt: skip
    """Grade every mutant in scope not already graded under the same settings in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    options = RunOptions(seed=scope.seed, skip_groups=scope.skip_groups, only=scope.questions, run_notebook=False,
                           parallel=1)  # fmt: skip
    mutants = mutants_of(assignment, scope)
    state = out_dir / "state.json"
    settings = {"assignment": assignment.id, "version": assignment.version, "seed": scope.seed,
                "skip_groups": list(scope.skip_groups), "questions": list(scope.questions)}  # fmt: skip
    outcomes: dict[str, Outcome] = {}
    if state.is_file():
        saved = json.loads(state.read_text(encoding="utf-8"))
        if saved.get("settings") == settings:
            outcomes = {k: Outcome(**v) for k, v in saved["outcomes"].items()}
    reference = _grade(assignment, _reference_files(assignment), options)
    if reference.status != "graded":
        raise AuditError(f"the unmutated reference was not graded ({reference.status}: {reference.message}); "
                         "run `grade doctor`, then `grade demo`")  # fmt: skip
    baseline = reference.score
    declared = equivalents(assignment)
    pending = [m for m in mutants if m.id not in outcomes]
    done = len(mutants) - len(pending)
    faults: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_grade_mutant, assignment, m, options): m for m in pending}
        for future in as_completed(futures):
            mutant = futures[future]
            result = future.result()
            done += 1
            if result.status == "error":  # the grader failed, not the mutant: graded again next run
                faults.append(mutant.id)
                continue
            outcomes[mutant.id] = _outcome(mutant, result, baseline, declared)
            state.write_text(json.dumps({"settings": settings, "outcomes": {k: asdict(v) for k, v in outcomes.items()}},
                                        indent=1, sort_keys=True), encoding="utf-8")  # fmt: skip
            if progress:
                progress(done, len(mutants))
    for mutant_id, outcome in outcomes.items():  # declarations may have changed since the outcome was stored
        if outcome.status != "killed":
            outcome.status = "equivalent" if mutant_id in declared else "survived"
    return AuditReport(assignment.id, assignment.version, scope, baseline, mutants,
                       {m.id: outcomes[m.id] for m in mutants if m.id in outcomes}, declared, len(pending), faults)  # fmt: skip


def _outcome(mutant: Mutant, result: Result, baseline: float, declared: dict[str, str]) -> Outcome:
    lost = {q.id: q.max_score - q.score for q in result.questions if q.score < q.max_score}
    killed = result.status != "graded" or result.score < baseline
    status = "killed" if killed else ("equivalent" if mutant.id in declared else "survived")
    return Outcome(mutant.id, status, float(result.score or 0.0), lost)


def _reference_files(assignment: Assignment) -> dict[str, str]:
    return {spec.dest: (assignment.reference_dir / spec.dest).read_text(encoding="utf-8")
            for spec in assignment.files if spec.kind == "python"}  # fmt: skip


def _grade_mutant(assignment: Assignment, mutant: Mutant, options: RunOptions) -> Result:
    files = _reference_files(assignment)
    spec = next(s for s in assignment.files if s.name == mutant.file)
    files[spec.dest] = mutant.code
    return _grade(assignment, files, options)


def _grade(assignment: Assignment, files: dict[str, str], options: RunOptions) -> Result:
    """Packs `files` as a student zip and grades it like one."""
    scratch = Path(tempfile.mkdtemp(prefix="audit-"))
    try:
        return grade_zip(write_zip(scratch / "submit.zip", files), assignment, options)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ------------------------------------------------------------------ the report


def write_markdown(report: AuditReport, path: Path) -> Path:
    """The per-function table, the mutation score, every surviving mutant's diff, the equivalent ones."""
    rows = report.by_function()
    lines = [
        f"# Mutation audit: {report.assignment} (version {report.version})", "",
        f"Seed {report.scope.seed}; groups left out: {', '.join(report.scope.skip_groups) or 'none'}; "
        f"questions graded: {', '.join(report.scope.questions) or 'all'}; "
        f"the unmutated reference scores {report.baseline:g} under the same options. "
        f"{len(report.mutants)} mutants, {len(report.outcomes)} graded.", "",
        f"**Mutation score: {report.score():.1%}** of non-equivalent mutants killed.", "",
        "| file | function | mutants | killed | survived | equivalent | score |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for (file, function), row in sorted(rows.items()):
        total = sum(row.values())
        lines.append(f"| {file} | `{function}` | {total} | {row['killed']} | {row['survived']} | {row['equivalent']} "
                     f"| {report.score([row]):.0%} |")  # fmt: skip
    by_id = {m.id: m for m in report.mutants}
    for title, ids in (("Surviving mutants", [m.id for m in report.survivors]),
                       ("Equivalent mutants", [i for i, o in report.outcomes.items() if o.status == "equivalent"])):  # fmt: skip
        lines += ["", f"## {title} ({len(ids)})", ""]
        for mutant_id in ids:
            mutant = by_id[mutant_id]
            why = report.equivalent.get(mutant_id)
            lines += [f"### `{mutant_id}` {mutant.operator} in `{mutant.function}` (line {mutant.line})", ""]
            if why:
                lines += [f"Equivalent: {why}", ""]
            lines += ["```diff", mutant.diff.rstrip(), "```", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

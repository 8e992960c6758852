"""grade similarity: planted copies (renamed, reformatted, reordered, re-commented) rank above
independent correct solutions, against peers and against a folder of public solutions."""

from __future__ import annotations

import ast
import csv
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from grading_helpers import cli_args

from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.course.similarity import compare_class, functions_of

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "intro2ai"
STUDENT_FUNCTIONS = ("conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive")

# Two correct solutions written independently of the reference: quadruple loops as in most
# cs231n write-ups, and sliding windows with einsum.
LOOPS = '''
def conv_forward_naive(x, w, b, conv_param):
    S, P = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * P - HH) // S, 1 + (W + 2 * P - WW) // S
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)), mode='constant')
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i * S:i * S + HH, j * S:j * S + WW] * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    S, P = conv_param['stride'], conv_param['pad']
    F, _, HH, WW = w.shape
    N, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)), mode='constant')
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    dw[f] += xp[n, :, i * S:i * S + HH, j * S:j * S + WW] * dout[n, f, i, j]
                    dxp[n, :, i * S:i * S + HH, j * S:j * S + WW] += w[f] * dout[n, f, i, j]
    dx = dxp[:, :, P:P + x.shape[2], P:P + x.shape[3]]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, c, i, j] = x[n, c, i * s:i * s + ph, j * s:j * s + pw].max()
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    patch = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
                    r, q = np.unravel_index(np.argmax(patch), patch.shape)
                    dx[n, c, i * s + r, j * s + q] += dout[n, c, i, j]
    return dx
'''

WINDOWS = '''
def conv_forward_naive(x, w, b, conv_param):
    from numpy.lib.stride_tricks import sliding_window_view
    stride, pad = conv_param.get('stride', 1), conv_param.get('pad', 0)
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    windows = sliding_window_view(padded, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    result = np.einsum('nchwkl,fckl->nfhw', windows, w) + b.reshape(1, -1, 1, 1)
    return result, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    from numpy.lib.stride_tricks import sliding_window_view
    x, w, b, conv_param = cache
    stride, pad = conv_param.get('stride', 1), conv_param.get('pad', 0)
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    windows = sliding_window_view(padded, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    grad_w = np.einsum('nchwkl,nfhw->fckl', windows, dout)
    grad_padded = np.zeros(padded.shape, dtype=padded.dtype)
    kh, kw = w.shape[2:]
    for a in range(kh):
        for c in range(kw):
            grad_padded[:, :, a:a + stride * dout.shape[2]:stride, c:c + stride * dout.shape[3]:stride] += \\
                np.einsum('nfhw,fc->nchw', dout, w[:, :, a, c])
    grad_x = grad_padded[:, :, pad:padded.shape[2] - pad, pad:padded.shape[3] - pad]
    return grad_x, grad_w, dout.sum(axis=(0, 2, 3))


def max_pool_forward_naive(x, pool_param):
    from numpy.lib.stride_tricks import sliding_window_view
    size = (pool_param['pool_height'], pool_param['pool_width'])
    step = pool_param['stride']
    view = sliding_window_view(x, size, axis=(2, 3))[:, :, ::step, ::step]
    return view.max(axis=(-2, -1)), (x, pool_param)


def max_pool_backward_naive(dout, cache):
    from numpy.lib.stride_tricks import sliding_window_view
    x, pool_param = cache
    size = (pool_param['pool_height'], pool_param['pool_width'])
    step = pool_param['stride']
    view = sliding_window_view(x, size, axis=(2, 3))[:, :, ::step, ::step]
    flat = view.reshape(*view.shape[:4], -1)
    winner = flat.argmax(axis=-1)
    grad = np.zeros_like(x)
    n, c, i, j = np.indices(winner.shape)
    rows = i * step + winner // size[1]
    cols = j * step + winner % size[1]
    np.add.at(grad, (n, c, rows, cols), dout)
    return grad
'''


class _Renamer(ast.NodeTransformer):
    """Renames every argument and local name of a function, as a student hiding a copy would."""

    def __init__(self, keep: set[str]) -> None:
        self.keep = keep
        self.names: dict[str, str] = {}

    def _new(self, name: str) -> str:
        return name if name in self.keep else self.names.setdefault(name, f"var{len(self.names)}")

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self._new(node.arg)
        return node

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self._new(node.id)
        return node


def _with_functions(text: str, replacement: str) -> str:
    """`text` with its student functions replaced by those in `replacement` (the given code stays)."""
    tree = ast.parse(text)
    new = {n.name: n for n in ast.parse(replacement).body if isinstance(n, ast.FunctionDef)}
    tree.body = [new.get(getattr(n, "name", None), n) for n in tree.body]
    return ast.unparse(tree)


def _disguised(text: str) -> str:
    """Variables renamed, functions reordered, comments replaced, layout redone by ast.unparse."""
    tree = ast.parse(text)
    keep = {"np", "range", "max", "min", "len", "sum", "zip", "int", "float", "self", "dict", "tuple", "list",
            "super", "object", "cache", "affine_forward", "affine_backward", "relu_forward", "relu_backward",
            *STUDENT_FUNCTIONS}  # fmt: skip
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in STUDENT_FUNCTIONS:
            _Renamer(keep).visit(node)
    tree.body.reverse()
    body = ast.unparse(tree)
    return "# my own work, written from scratch\n" + body.replace("\n\ndef ", "\n\n# helper below\ndef ")


def _zip(folder: Path, student: str, layers: str) -> None:
    with zipfile.ZipFile(folder / f"{student}.zip", "w") as archive:
        archive.writestr("intro2ai/layers.py", layers)


@pytest.fixture(scope="module")
def hw5():
    return load_assignment("hw5_cnn")


@pytest.fixture
def reference_layers() -> str:
    return (REFERENCE / "layers.py").read_text(encoding="utf-8")


@pytest.fixture
def class_folder(tmp_path: Path, reference_layers: str) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    _zip(folder, "s01_original", reference_layers)
    _zip(folder, "s02_planted", _disguised(reference_layers))
    _zip(folder, "s03_loops", _with_functions(reference_layers, LOOPS))
    _zip(folder, "s04_windows", _with_functions(reference_layers, WINDOWS))
    return folder


def test_independent_solutions_are_correct(reference_layers: str) -> None:
    """The independent solutions the ranking is measured against are real, correct code."""
    import importlib.util
    import sys

    sys.path.insert(0, str(REFERENCE.parent))
    from intro2ai import layers as ref

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv, pool = {"stride": 2, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    for source in (LOOPS, WINDOWS):
        spec = importlib.util.spec_from_loader("candidate", loader=None)
        module = importlib.util.module_from_spec(spec)
        exec(compile("import numpy as np\n" + textwrap.dedent(source), "candidate", "exec"), module.__dict__)  # noqa: S102
        out, cache = module.conv_forward_naive(x, w, b, conv)
        expected, ref_cache = ref.conv_forward_naive(x, w, b, conv)
        np.testing.assert_allclose(out, expected, rtol=1e-10)
        dout = rng.standard_normal(out.shape)
        for mine, theirs in zip(module.conv_backward_naive(dout, cache), ref.conv_backward_naive(dout, ref_cache),
                                strict=True):  # fmt: skip
            np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)
        pooled, pcache = module.max_pool_forward_naive(x, pool)
        np.testing.assert_allclose(pooled, ref.max_pool_forward_naive(x, pool)[0])
        dpool = rng.standard_normal(pooled.shape)
        np.testing.assert_allclose(module.max_pool_backward_naive(dpool, pcache),
                                   ref.max_pool_backward_naive(dpool, ref.max_pool_forward_naive(x, pool)[1]))  # fmt: skip


def test_disguise_keeps_the_code_and_changes_its_text(reference_layers: str) -> None:
    disguised = _disguised(reference_layers)
    assert "x_pad" in reference_layers and "x_pad" not in disguised and "var3" in disguised
    assert [n for n, _ in functions_of(disguised)] == [n for n, _ in functions_of(reference_layers)][::-1]
    compile(disguised, "disguised", "exec")


def test_planted_copy_ranks_above_independent_solutions(hw5, class_folder: Path) -> None:
    report = compare_class(hw5, class_folder)
    scores = {frozenset((p.left, p.right)): p.score for p in report.pairs}
    planted = scores[frozenset(("s01_original", "s02_planted"))]
    others = [score for pair, score in scores.items() if pair != frozenset(("s01_original", "s02_planted"))]
    assert report.pairs[0].score == planted
    assert planted > 0.75, planted
    assert all(score < planted - 0.3 for score in others), scores
    functions = {m.name for m in report.pairs[0].functions}
    assert set(STUDENT_FUNCTIONS) <= functions
    assert "affine_forward" not in functions  # given code is boilerplate, never evidence


def test_public_solution_found_and_given_code_ignored(hw5, tmp_path: Path, reference_layers: str) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    _zip(folder, "copied_public", _disguised(reference_layers))
    _zip(folder, "own_work", _with_functions(reference_layers, WINDOWS))
    public = tmp_path / "public" / "someone" / "cs231n" / "classifiers"
    public.mkdir(parents=True)
    (public.parent / "layers.py").write_text(reference_layers, encoding="utf-8")
    (public.parent / "loops.py").write_text("import numpy as np\n" + LOOPS, encoding="utf-8")
    report = compare_class(hw5, folder, tmp_path / "public")
    best = {p.left: p for p in report.pairs if p.kind == "public"}
    assert best["copied_public"].right == "public:someone/cs231n/layers.py"
    assert best["copied_public"].score > 0.75
    assert best.get("own_work") is None or best["own_work"].score < best["copied_public"].score - 0.3


def test_cli_writes_ranked_html_and_csv(class_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = CliRunner().invoke(main, cli_args(*["similarity", str(class_folder), "-o", str(out), "--threshold", "0.7"]))
    assert run.exit_code == 0, run.output
    assert "s01_original ~ s02_planted" in run.output.splitlines()[0]
    rows = list(csv.DictReader((out / "similarity.csv").open(encoding="utf-8")))
    assert (rows[0]["left"], rows[0]["right"], rows[0]["kind"]) == ("s01_original", "s02_planted", "peer")
    html = (out / "similarity.html").read_text(encoding="utf-8")
    assert html.count('class="card"') == 1  # only the planted pair is above 0.7
    assert "<mark>" in html and "Content-Security-Policy" in html
    assert "<script" not in html


def test_unreadable_submission_is_skipped_with_a_reason(hw5, class_folder: Path) -> None:
    (class_folder / "s05_broken.zip").write_bytes(b"this is not a zip")
    report = compare_class(hw5, class_folder)
    assert [who for who, _ in report.skipped] == ["s05_broken"]
    assert "s05_broken" not in report.students

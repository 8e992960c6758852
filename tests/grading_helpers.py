"""Builds graded zips for the engine tests: the reference, the template, and mutated variants."""

from __future__ import annotations

import ast
import dataclasses
import zipfile
from pathlib import Path

from autograder.assignment import Assignment
from autograder.grading.run import RunOptions, grade_zip

LAYERS = "intro2ai/layers.py"
CNN = "intro2ai/classifiers/cnn.py"


def source(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")


def replace_function(text: str, name: str, new_def: str) -> str:
    """Swaps one top-level function for another implementation (found with ast, not by text)."""
    tree = ast.parse(text)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = text.splitlines(keepends=True)
    start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
    return "".join(lines[:start]) + new_def.strip("\n") + "\n" + "".join(lines[node.end_lineno :])


def mutate(text: str, old: str, new: str) -> str:
    """A textual mutation that must apply exactly once (so a reference rewrite fails loudly here)."""
    assert text.count(old) == 1, f"mutation anchor not found exactly once: {old!r}"
    return text.replace(old, new)


def make_zip(path: Path, files: dict[str, str], prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(prefix + name, text)
    return path


def reference_files(assignment: Assignment, **overrides: str) -> dict[str, str]:
    files = {rel: source(assignment.reference_dir, rel) for rel in (LAYERS, CNN)}
    files.update({LAYERS if k == "layers" else CNN: v for k, v in overrides.items()})
    return files


CONV_BACKWARD_PAD_SLICE = '''
def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    HH, WW = w.shape[2], w.shape[3]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            hs, ws = i * stride, j * stride
            window = x_pad[:, :, hs:hs + HH, ws:ws + WW]
            dw += np.tensordot(dout[:, :, i, j], window, axes=([0], [0]))
            dx_pad[:, :, hs:hs + HH, ws:ws + WW] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    dx = dx_pad[:, :, pad:-pad, pad:-pad]
    return dx, dw, db
'''

POOL_BACKWARD_STRIDE_IS_POOL = '''
def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * ph:(i + 1) * ph, j * pw:(j + 1) * pw]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * ph:(i + 1) * ph, j * pw:(j + 1) * pw] += mask * dout[:, :, i, j][:, :, None, None]
    return dx
'''

CONV_FORWARD_IGNORES_STRIDE = '''
def conv_forward_naive(x, w, b, conv_param):
    pad = conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = H + 2 * pad - HH + 1, W + 2 * pad - WW + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i:i + HH, j:j + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)
'''

NAIVE_FORWARD = """        conv_out, conv_cache = conv_forward_naive(X, W1, b1, conv_param)
        relu_out, relu_cache = relu_forward(conv_out)
        pooled, pool_cache = max_pool_forward_naive(relu_out, pool_param)
"""
NAIVE_BACKWARD = """        drelu = max_pool_backward_naive(dpooled, pool_cache)
        _, grads["W1"], grads["b1"] = conv_backward_naive(relu_backward(drelu, relu_cache), conv_cache)
"""


def small_training(assignment: Assignment, num_train: int, target: float, floor_s: float = 0.5) -> Assignment:
    """The training case on its first `num_train` images, with a low target and a low CPU floor.

    The same limit mechanism as the full size (a multiple of the reference's measured CPU time),
    only cheaper: the floor is lowered so that the multiple, not the floor, sets the limit.
    """
    questions = []
    for question in assignment.questions:
        cases = tuple(
            dataclasses.replace(c, params={**c.params, "num_train": num_train},
                                time_limits={**c.time_limits, "floor_s": floor_s})
            if c.group == "train" else c for c in question.cases
        )  # fmt: skip
        questions.append(dataclasses.replace(question, cases=cases))
    return dataclasses.replace(assignment, questions=tuple(questions), data=assignment.data.with_target("train_accuracy", target))


WITH_ASSIGNMENT = {"zip", "pack", "demo", "generate", "validate", "calibrate-limits", "batch", "export", "manual",
                   "report", "similarity", "audit", "gradescope-bundle", "publish", "doctor"}  # fmt: skip


def cli_args(*args, assignment: str = "hw5_cnn") -> list[str]:
    """A `grade` command line naming `assignment` (-a) where the command takes one and the line has none:
    with several assignments discovered, the CLI refuses to guess."""
    args = [str(a) for a in args]
    if "-a" in args or "--assignment" in args:
        return args
    at = next((i for i, a in enumerate(args) if a in WITH_ASSIGNMENT or a.endswith(".zip")), None)
    if at is None:
        return args
    return [*args[: at + 1], "-a", assignment, *args[at + 1 :]]


def grade_files(tmp_path: Path, assignment: Assignment, files: dict[str, str], *, seed: int, skip: tuple[str, ...] = (),
                only: tuple[str, ...] = (), prefix: str = "") -> dict:  # fmt: skip
    """`files` zipped as a student would and graded as in production (two groups at once, one BLAS
    thread), the result as its JSON document. Each test file wraps it with its own seed and skips."""
    zip_path = make_zip(tmp_path / "submit.zip", files, prefix=prefix)
    options = RunOptions(seed=seed, only=tuple(only), skip_groups=skip, parallel=2, max_blas_threads=1)
    return grade_zip(zip_path, assignment, options).to_json()


def failed_questions(result: dict) -> dict[str, list[str]]:
    """Question id -> messages of its failed cases, for every question that lost points."""
    return {q["id"]: [c["message"] for c in q["cases"] if not c["passed"]]
            for q in result["questions"] if q["score"] < q["max_score"]}  # fmt: skip


def assert_not_implemented(result: dict) -> None:
    """The template's result: 0 points, every question and every case `not_implemented`."""
    assert result["score"] == 0
    for question in result["questions"]:
        assert question["status"] == "not_implemented", question
        assert all(c["status"] == "not_implemented" for c in question["cases"])

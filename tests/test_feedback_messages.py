"""Common real-world failures get a message that says what to fix, not just a traceback."""

from __future__ import annotations

import pytest
from grading_helpers import LAYERS, make_zip, reference_files, replace_function, source

from autograder.assignment import load_assignment
from autograder.grading.judge import explain_error
from autograder.grading.run import RunOptions, grade_zip

CONV_WITH = '''
def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) {op} stride
    W_out = 1 + (W + 2 * pad - WW) {op} stride
    out = np.zeros((N, F, H_out, W_out), dtype={dtype})
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    for i in range(int(H_out)):
        for j in range(int(W_out)):
            window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)
'''


@pytest.mark.parametrize("op, dtype, hint", [
    ("/", "np.float64", "use '//' for integer sizes"),
    ("//", "np.float", "np.float was removed from NumPy 1.24"),
])  # fmt: skip
def test_classic_mistakes_are_explained(tmp_path, op, dtype, hint):
    hw5 = load_assignment("hw5_cnn")
    layers = replace_function(source(hw5.reference_dir, LAYERS), "conv_forward_naive", CONV_WITH.format(op=op, dtype=dtype))
    zip_path = make_zip(tmp_path / "submit.zip", reference_files(hw5, layers=layers))
    result = grade_zip(zip_path, hw5, RunOptions(seed=3, only=("Q1",))).to_json()
    question = result["questions"][0]
    assert question["status"] == "error" and question["score"] == 0
    assert hint in question["message"]
    assert all(hint in case["message"] for case in question["cases"])


def test_stub_and_unknown_errors():
    assert explain_error({"type": "NotImplementedError", "message": "conv: write it"}) == "not implemented yet: conv: write it"
    assert explain_error({"type": "ValueError", "message": "bad"}) == "ValueError: bad"
    assert "index ran past an array edge" in explain_error(
        {"type": "IndexError", "message": "index 5 is out of bounds for axis 2 with size 5"})  # fmt: skip
    assert explain_error(None) == "the code failed without an error message"


def test_a_name_no_collected_file_defines_is_explained():
    line = explain_error({"type": "NameError", "message": "name 'conv_bn_forward' is not defined"}, ["layers.py", "cnn.py"])
    assert line.startswith("NameError: name 'conv_bn_forward' is not defined — 'conv_bn_forward' is defined neither")
    assert "only the declared files (layers.py, cnn.py) are collected from your zip" in line
    imported = explain_error({"type": "ImportError", "message": "cannot import name 'helper' from 'intro2ai.layers'"})
    assert "'helper' is not in intro2ai.layers" in imported and "only the declared files are collected" in imported
    missing = explain_error({"type": "ModuleNotFoundError", "message": "No module named 'intro2ai.my_utils'"})
    assert "module 'intro2ai.my_utils' is neither one of your submitted files" in missing


CS231N_HEADER = "import numpy as np\n\nfrom ..layer_utils import *\nfrom ..layers import *\n"
NON_TRAINING = ("overfit", "train")


def test_cs231n_style_cnn_that_only_imports_layer_utils_scores(tmp_path):
    """cs231n's cnn.py has `from ..layer_utils import *` and uses np and every layer through it."""
    hw5 = load_assignment("hw5_cnn")
    cnn = source(hw5.reference_dir, "intro2ai/classifiers/cnn.py")
    assert cnn.count(CS231N_HEADER) == 1
    files = reference_files(hw5, cnn=cnn.replace(CS231N_HEADER, "from ..layer_utils import *\n"))
    zip_path = make_zip(tmp_path / "submit.zip", files)
    result = grade_zip(zip_path, hw5, RunOptions(seed=3, only=("Q5",), skip_groups=NON_TRAINING, run_notebook=False)).to_json()
    question = result["questions"][0]
    assert question["status"] == "passed", question["message"]


def test_a_helper_module_that_was_not_collected_is_named(tmp_path):
    hw5 = load_assignment("hw5_cnn")
    cnn = source(hw5.reference_dir, "intro2ai/classifiers/cnn.py")
    files = reference_files(hw5, cnn=cnn.replace(CS231N_HEADER, CS231N_HEADER + "from ..my_helpers import fused_layer\n"))
    zip_path = make_zip(tmp_path / "submit.zip", files)
    result = grade_zip(zip_path, hw5, RunOptions(seed=3, only=("Q5",), skip_groups=NON_TRAINING, run_notebook=False)).to_json()
    question = result["questions"][0]
    assert question["score"] == 0
    assert "module 'intro2ai.my_helpers' is neither one of your submitted files nor part of the given package" in question["message"]
    assert "only the declared files (layers.py, cnn.py) are collected" in question["message"]

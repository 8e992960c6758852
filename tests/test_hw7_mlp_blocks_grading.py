"""HW7 (MLP blocks) end to end on real zips: the reference scores full marks, the template 0 with
`not_implemented`, and each real mistake named in issue #14 loses points on its own question and
nowhere else (mistakes in different questions share a grading run, to keep the suite fast)."""

from __future__ import annotations

import shutil
import zipfile

import pytest
from click.testing import CliRunner
from grading_helpers import (
    assert_not_implemented,
    cli_args,
    failed_questions,
    grade_files,
    mutate,
    replace_function,
    source,
)

from autograder.assignment import load_assignment
from autograder.authoring.generate import build_release_zip, render_template, template_drift
from autograder.cli import main
from autograder.student import selfcheck

LAYERS = "intro2ai/layers.py"
FC_NET = "intro2ai/classifiers/fc_net.py"
CALLBACKS = "intro2ai/callbacks.py"
BLOCKS = "intro2ai/blocks.py"
TRAINING = ("train",)  # Q6's group (`--no-training` leaves it out): graded in the full-marks test


@pytest.fixture(scope="module")
def hw7():
    return load_assignment("hw7_mlp_blocks")


def files(hw7, root=None, **changed: str) -> dict[str, str]:
    root = root or hw7.reference_dir
    names = {"layers": LAYERS, "fc_net": FC_NET, "callbacks": CALLBACKS, "blocks": BLOCKS}
    return {rel: changed.get(key) or source(root, rel) for key, rel in names.items()}


def grade(tmp_path, hw7, submitted, skip=TRAINING, seed=5):
    return grade_files(tmp_path, hw7, submitted, seed=seed, skip=skip)


def test_reference_scores_full_marks_with_training_and_its_notebook_runs_in_the_sandbox(tmp_path, hw7):
    submitted = files(hw7)
    submitted["HW7.ipynb"] = source(hw7.reference_dir, "HW7.ipynb")
    result = grade(tmp_path, hw7, submitted, skip=())
    assert result["status"] == "graded"
    assert result["score"] == result["max_score"] == 100, failed_questions(result)
    training = next(q for q in result["questions"] if q["id"] == "Q6")["cases"]
    assert {c["metric"] for c in training} == {"overfit_accuracy", "held_out_accuracy"}
    assert result["notebook"]["ran_cleanly"], result["notebook"]
    assert result["notebook"]["cells_executed"] == result["notebook"]["code_cells"] == 14


def test_template_scores_zero_and_says_not_implemented(tmp_path, hw7):
    result = grade(tmp_path, hw7, files(hw7, root=hw7.template_dir), skip=())
    assert_not_implemented(result)


# ------------------------------------------------------------------ the named mistakes

DROPOUT_SCALED_AT_TEST_TIME = '''
def dropout_forward(x, dropout_param):
    # Classic (not inverted) dropout: no scaling at train time, x * p at test time.
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    if mode == "train":
        mask = np.random.rand(*x.shape) < p
        out = x * mask
    else:
        out = x * p
    return out, (dropout_param, mask)
'''


def test_mistakes_in_dropout_l1_early_stopping_and_the_skip_lose_only_their_questions(tmp_path, hw7):
    """Dropout scaled at test time (Q1), the L1 gradient without sign (Q2), early stopping one epoch
    late (Q3), the MobileNetV2 skip also at stride 2 (Q5): four questions, each loses only its own."""
    layers = replace_function(source(hw7.reference_dir, LAYERS), "dropout_forward", DROPOUT_SCALED_AT_TEST_TIME)
    fc_net = mutate(source(hw7.reference_dir, FC_NET), "self.l1 * np.sign(W)", "self.l1 * W")
    callbacks = mutate(source(hw7.reference_dir, CALLBACKS), "if self.wait >= self.patience:", "if self.wait > self.patience:")
    blocks = mutate(source(hw7.reference_dir, BLOCKS), 'skip = block_param["stride"] == 1 and out.shape[1] == x.shape[1]',
                    "skip = out.shape[1] == x.shape[1]")  # fmt: skip
    result = grade(tmp_path, hw7, files(hw7, layers=layers, fc_net=fc_net, callbacks=callbacks, blocks=blocks))
    lost = failed_questions(result)
    assert set(lost) == {"Q1", "Q2", "Q3", "Q5"}, lost
    assert any("test mode scales by p" in m for m in lost["Q1"]) and any("inverted dropout scales" in m for m in lost["Q1"])
    assert any("l1 * np.sign(W)" in m for m in lost["Q2"]), lost["Q2"]
    assert any("off by one" in m for m in lost["Q3"]), lost["Q3"]
    assert any("no skip connection when the stride is not 1" in m for m in lost["Q5"]), lost["Q5"]


FRESH_MASK_IN_BACKWARD = '''
def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * (np.random.rand(*dout.shape) < dropout_param["p"]) / dropout_param["p"]
    return dout
'''

DEPTHWISE_AS_FULL_CONV = '''
def depthwise_conv_forward(x, w, b, conv_param):
    # Depthwise weights taken as (C, C, k, k): an ordinary convolution that mixes every channel.
    w_full = np.repeat(w, x.shape[1], axis=1)
    out, _ = conv_forward_naive(x, w_full, b, conv_param)
    return out, (x, w, b, conv_param)
'''


def test_fresh_mask_relu6_at_six_and_depthwise_as_full_conv_lose_only_their_questions(tmp_path, hw7):
    layers = source(hw7.reference_dir, LAYERS)
    layers = replace_function(layers, "dropout_backward", FRESH_MASK_IN_BACKWARD)
    layers = replace_function(layers, "depthwise_conv_forward", DEPTHWISE_AS_FULL_CONV)
    layers = mutate(layers, "dx = dout * ((x > 0) & (x < 6))", "dx = dout * ((x > 0) & (x <= 6))")
    result = grade(tmp_path, hw7, files(hw7, layers=layers))
    lost = failed_questions(result)
    assert set(lost) == {"Q1", "Q5"}, lost
    assert any("a new mask was drawn in the backward" in m for m in lost["Q1"]), lost["Q1"]
    assert any("dx is wrong at x = 6" in m for m in lost["Q5"]), lost["Q5"]
    assert any("not (C, C, k, k)" in m for m in lost["Q5"]), lost["Q5"]


def test_keep_probability_read_as_drop_rate_is_named(tmp_path, hw7):
    layers = mutate(source(hw7.reference_dir, LAYERS), "mask = (np.random.rand(*x.shape) < p) / p",
                    "mask = (np.random.rand(*x.shape) < 1 - p) / p")  # fmt: skip
    result = grade(tmp_path, hw7, files(hw7, layers=layers))
    lost = failed_questions(result)
    assert set(lost) == {"Q1"}, lost
    assert any("probability of KEEPING" in m for m in lost["Q1"]), lost["Q1"]


# ------------------------------------------------------------------ symlinked given code


def test_given_code_is_linked_and_the_template_is_in_sync(hw7):
    package = hw7.reference_dir / hw7.package
    for name in ("hw5_layers.py", "hw5_solver.py", "optim.py", "gradient_check.py"):
        assert (package / name).is_symlink(), name
        assert (package / name).resolve().is_relative_to(hw7.repo_root / "reference" / "intro2ai")
    assert template_drift(hw7) == []
    template = hw7.template_dir / hw7.package
    assert not any(p.is_symlink() for p in template.rglob("*"))
    assert "START OF YOUR CODE" not in (template / "hw5_layers.py").read_text()
    assert "raise NotImplementedError" in (template / "callbacks.py").read_text()


def test_release_zip_holds_the_files_the_links_name(hw7, tmp_path):
    with zipfile.ZipFile(build_release_zip(hw7, tmp_path)) as archive:
        solver = archive.read("hw7_mlp_blocks/intro2ai/hw5_solver.py")
        assert "hw7_mlp_blocks/HW7.ipynb" in archive.namelist()
        assert not any((info.external_attr >> 16) & 0o170000 == 0o120000 for info in archive.infolist())
    assert solver == (hw7.repo_root / "reference" / "intro2ai" / "solver.py").read_bytes()


def test_selfcheck_passes_the_reference_working_copy(hw7, tmp_path):
    """`grade check` on the starter code with the reference's solutions: every public case passes."""
    rendered = render_template(hw7).files
    working = tmp_path / "hw7"
    for rel, data in rendered.items():
        (working / rel).parent.mkdir(parents=True, exist_ok=True)
        (working / rel).write_bytes(data)
    for rel in (LAYERS, FC_NET, CALLBACKS, BLOCKS):
        shutil.copy(hw7.reference_dir / rel, working / rel)
    result = CliRunner().invoke(main, cli_args(*["check", str(working)]))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "FAIL" not in result.output, result.output
    assert selfcheck.PUBLIC_EXPECTED in rendered

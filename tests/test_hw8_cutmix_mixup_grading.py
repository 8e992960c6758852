"""HW8 (CutMix and Mixup) end to end on real zips: the reference scores full marks, the template 0
with `not_implemented`, and each real mistake named in issue #15 (the seed's own among them)
loses points on its own question and nowhere else."""

from __future__ import annotations

import dataclasses
import shutil
import zipfile

import numpy as np
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

AUGMENT = "intro2ai/augment.py"
LAYERS = "intro2ai/layers.py"
EXPERIMENT = ("train",)  # the training group (`--no-training` leaves it out): graded in the full-marks test


@pytest.fixture(scope="module")
def hw8():
    return load_assignment("hw8_cutmix_mixup")


def files(hw8, augment: str | None = None, layers: str | None = None, root=None) -> dict[str, str]:
    root = root or hw8.reference_dir
    return {AUGMENT: augment or source(root, AUGMENT), LAYERS: layers or source(root, LAYERS)}


def grade(tmp_path, hw8, submitted, only=(), skip=EXPERIMENT, seed=5):
    return grade_files(tmp_path, hw8, submitted, seed=seed, skip=skip, only=only)


def test_reference_scores_full_marks_with_the_experiment(tmp_path, hw8):
    result = grade(tmp_path, hw8, files(hw8), skip=())
    assert result["status"] == "graded"
    assert result["score"] == result["max_score"] == 100, failed_questions(result)
    experiment = next(q for q in result["questions"] if q["id"] == "Q8")["cases"][0]
    assert experiment["extras"]["cutmix_final_loss"] > experiment["extras"]["none_final_loss"]
    assert experiment["extras"]["mixup_final_loss"] > experiment["extras"]["none_final_loss"]


def test_template_scores_zero_and_says_not_implemented(tmp_path, hw8):
    result = grade(tmp_path, hw8, files(hw8, root=hw8.template_dir), skip=())
    assert_not_implemented(result)


# ------------------------------------------------------------------ the named mistakes

MIXUP_OUTSIDE_THE_LOOP = '''
def mixup(images, labels, rng, alpha=1.0, num_classes=10):
    # The seed's mixup: the pair picked before the loop is mixed for every image of the batch.
    image_a, image_b, label_a, label_b = images[0], images[1], labels[0], labels[1]
    mixed_imgs, mixed_labels = [], []
    for i in range(images.shape[0]):
        lam = rng.beta(alpha, alpha)
        mixed_img, mixed_label = mixup_2_images(image_a, image_b, label_a, label_b, lam, num_classes)
        mixed_imgs.append(mixed_img)
        mixed_labels.append(mixed_label)
    return np.stack(mixed_imgs), np.stack(mixed_labels)
'''

CUTMIX_UNCLIPPED_WEIGHT = '''
def cutmix(images, labels, rng, alpha=1.0, num_classes=10):
    # The label weight is the drawn box's area, 1 - lam, before the box is clipped to the image.
    N, _, H, W = images.shape
    mixed_imgs, mixed_labels = [], []
    for i in range(N):
        j = int(rng.integers(N))
        lam = rng.beta(alpha, alpha)
        cut_w, cut_h = int(W * np.sqrt(1 - lam)), int(H * np.sqrt(1 - lam))
        cx, cy = int(rng.integers(W)), int(rng.integers(H))
        box = (max(0, cx - cut_w // 2), max(0, cy - cut_h // 2), min(W, cx + cut_w // 2), min(H, cy + cut_h // 2))
        mixed_imgs.append(mix_2_images(images[i], images[j], box))
        a = 1 - lam
        mixed_labels.append((1 - a) * to_one_hot(labels[i], num_classes) + a * to_one_hot(labels[j], num_classes))
    return np.stack(mixed_imgs), np.stack(mixed_labels)
'''


def test_seed_mixup_mixing_a_fixed_pair_loses_only_mixup(tmp_path, hw8):
    augment = replace_function(source(hw8.reference_dir, AUGMENT), "mixup", MIXUP_OUTSIDE_THE_LOOP)
    result = grade(tmp_path, hw8, files(hw8, augment=augment))
    lost = failed_questions(result)
    assert set(lost) == {"Q6"}
    assert all("does not contain image" in m for m in lost["Q6"]), lost


CUTMIX_RETURNS_MIXED_LABEL = '''
def cutmix(images, labels, rng, alpha=1.0, num_classes=10):
    N, _, H, W = images.shape
    mixed_imgs, mixed_labels = [], []
    for i in range(N):
        j = int(rng.integers(N))
        box = get_clip_box(rng, H, W, alpha)
        mixed_imgs.append(mix_2_images(images[i], images[j], box))
        mixed_label = mix_2_label(labels[i], labels[j], box, H, W, num_classes)
        mixed_labels.append(mixed_label)
    return np.stack(mixed_imgs), {returned}
'''


@pytest.mark.parametrize(("returned", "message"), [
    ("mixed_label", "not the last mixed_label"),  # the loop's last label, shape (num_classes,)
    ("mixed_labels_", "is not defined"),  # a name the module lacks (the seed's mixed_label was a notebook global)
])  # fmt: skip
def test_seed_cutmix_returning_the_last_label_loses_only_cutmix(tmp_path, hw8, returned, message):
    augment = replace_function(source(hw8.reference_dir, AUGMENT), "cutmix",
                               CUTMIX_RETURNS_MIXED_LABEL.format(returned=returned))  # fmt: skip
    result = grade(tmp_path, hw8, files(hw8, augment=augment))
    lost = failed_questions(result)
    assert set(lost) == {"Q4"}
    assert all(message in m for m in lost["Q4"]), lost


@pytest.mark.parametrize("side", ["W", "H"])
def test_one_side_length_for_both_axes_loses_only_get_clip_box(tmp_path, hw8, side):
    augment = mutate(source(hw8.reference_dir, AUGMENT), "cut_w, cut_h = int(W * cut), int(H * cut)",
                     f"cut_w, cut_h = int({side} * cut), int({side} * cut)")  # fmt: skip
    result = grade(tmp_path, hw8, files(hw8, augment=augment))
    lost = failed_questions(result)
    assert set(lost) == {"Q1"}
    q1 = next(q for q in result["questions"] if q["id"] == "Q1")
    assert q1["score"] == 0 and all("must scale with" in c["message"] for c in q1["cases"])


def test_label_weight_from_the_unclipped_box_loses_only_cutmix(tmp_path, hw8):
    augment = replace_function(source(hw8.reference_dir, AUGMENT), "cutmix", CUTMIX_UNCLIPPED_WEIGHT)
    result = grade(tmp_path, hw8, files(hw8, augment=augment))
    lost = failed_questions(result)
    assert set(lost) == {"Q4"}
    q4 = next(q for q in result["questions"] if q["id"] == "Q4")
    assert q4["score"] == 0 and all("box clipped to the image" in c["message"] for c in q4["cases"])


# ------------------------------------------------------------------ other realistic mistakes


def test_uniform_lam_in_mixup_loses_the_cases_with_alpha_not_1(tmp_path, hw8):
    """The seed draws lam with tf.random.uniform: Beta(1, 1), right only when alpha is 1."""
    augment = mutate(source(hw8.reference_dir, AUGMENT), "lam = rng.beta(alpha, alpha)\n        mixed_img,",
                     "lam = rng.uniform(0, 1)\n        mixed_img,")  # fmt: skip
    result = grade(tmp_path, hw8, files(hw8, augment=augment), only=("Q6",))
    cases = result["questions"][0]["cases"]
    assert {c["name"] for c in cases if not c["passed"]} == {c["name"] for c in cases if c["params"]["alpha"] != 1.0}
    assert all("variance" in c["message"] for c in cases if not c["passed"])


def test_hard_labels_from_the_argmax_lose_the_soft_target_cases(tmp_path, hw8):
    layers = mutate(source(hw8.reference_dir, LAYERS), "    targets = targets.astype(x.dtype, copy=False)\n",
                    "    targets = np.eye(x.shape[1], dtype=x.dtype)[targets.argmax(axis=1)]\n")  # fmt: skip
    result = grade(tmp_path, hw8, files(hw8, layers=layers))
    assert set(failed_questions(result)) == {"Q7"}
    cases = result["questions"][6]["cases"]
    soft = {c["name"] for c in cases if c["params"]["targets"] in ("soft", "two-class")}
    assert {c["name"] for c in cases if not c["passed"]} == soft != set()


# ------------------------------------------------------------------ the judges' false-failure bound


def test_reference_outputs_pass_the_random_judges_on_other_seeds(hw8):
    """The judges on the reference's own outputs for seeds other than the graded ones (in this
    process, no sandbox): a correct implementation passes (failure bound: 1e-8 per test)."""
    checks = hw8.checks()
    for qid in ("Q1", "Q4", "Q6"):
        question = hw8.question(qid)
        hidden = getattr(checks, question.hidden.generator)(np.random.default_rng(99), question.hidden.count)
        for raw in hidden:
            case = dataclasses.replace(question.cases[0], params=raw["params"], name=raw["name"])
            inputs = getattr(checks, case.probe)(case.params, None, None)
            expected = getattr(checks, "expect_" + case.expect)(inputs, case.params, None)
            verdict = getattr(checks, case.judge)(expected, expected, case, None)
            assert verdict.passed, (qid, case.name, verdict.message)


def _boxes(params, left, half):
    """get_clip_box's recipe with the left clip `left` and the half-side operator `half`, on the case's seed."""
    rng, (H, W, alpha) = np.random.default_rng(params["seed"]), (params["H"], params["W"], params["alpha"])
    boxes = []
    for _ in range(params["n"]):
        cut = np.sqrt(1 - rng.beta(alpha, alpha))
        cut_w, cut_h = int(W * cut), int(H * cut)
        cx, cy = int(rng.integers(W)), int(rng.integers(H))
        boxes.append((max(left, cx - half(cut_w)), max(0, cy - cut_h // 2), min(W, cx + cut_w // 2), min(H, cy + cut_h // 2)))
    return {"boxes": np.asarray(boxes)}


@pytest.mark.parametrize(("left", "half", "message"), [
    (0, lambda k: k // 2, None),  # the reference's recipe
    (1, lambda k: k // 2, "no box in 20000 covers column 0"),  # kept off the left edge: the mean sides barely move
    (0, lambda k: k / 2, "box corners must be integers"),  # half a pixel: the mean sides barely move either
])  # fmt: skip
def test_get_clip_box_judge_sees_an_uncovered_edge_and_fractional_corners(hw8, left, half, message):
    question, checks = hw8.question("Q1"), hw8.checks()
    case = dataclasses.replace(question.cases[0], params={**question.cases[0].params, "H": 24, "W": 48, "alpha": 2.0})
    verdict = checks.clip_boxes(_boxes(case.params, left, half), None, case, None)
    assert verdict.passed == (message is None), verdict.message
    assert message is None or message in verdict.message, verdict.message


# ------------------------------------------------------------------ symlinked given code


def test_given_code_is_linked_not_copied_and_the_template_is_in_sync(hw8):
    package = hw8.reference_dir / hw8.package
    for name in ("fast_layers.py", "solver.py", "data_utils.py", "im2col_cython.pyx", "hw5_layers.py", "classifiers/cnn.py"):
        assert (package / name).is_symlink(), name
        assert (package / name).resolve().is_relative_to(hw8.repo_root / "reference" / "intro2ai")
    assert template_drift(hw8) == []
    template = hw8.template_dir / hw8.package
    assert not any(p.is_symlink() for p in template.rglob("*"))
    assert "conv_relu_pool_forward(X, W1, b1" in (template / "classifiers" / "cnn.py").read_text()  # given whole
    assert "START OF YOUR CODE" not in (template / "hw5_layers.py").read_text()


def test_release_zip_holds_the_files_the_links_name(hw8, tmp_path):
    with zipfile.ZipFile(build_release_zip(hw8, tmp_path)) as archive:
        names = set(archive.namelist())
        assert "hw8_cutmix_mixup/intro2ai/solver.py" in names
        solver = archive.read("hw8_cutmix_mixup/intro2ai/solver.py")
        assert not any((info.external_attr >> 16) & 0o170000 == 0o120000 for info in archive.infolist())  # no links
    assert solver == (hw8.repo_root / "reference" / "intro2ai" / "solver.py").read_bytes()


def test_selfcheck_passes_the_reference_working_copy(hw8, tmp_path):
    """`grade check` on the starter code with the reference's solutions: given (linked) modules are
    recognised as unchanged, every public case the student's machine can judge passes."""
    rendered = render_template(hw8).files
    working = tmp_path / "hw8"
    for rel, data in rendered.items():
        (working / rel).parent.mkdir(parents=True, exist_ok=True)
        (working / rel).write_bytes(data)
    for rel in (AUGMENT, LAYERS):
        shutil.copy(hw8.reference_dir / rel, working / rel)
    result = CliRunner().invoke(main, cli_args(*["check", str(working)]))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "FAIL" not in result.output, result.output
    assert "Total: 7 of 7 public cases passed here" in result.output, result.output
    assert selfcheck.PUBLIC_EXPECTED in rendered

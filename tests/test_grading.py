"""The engine end to end on real zips: the reference scores full marks, the template scores 0 with
`not_implemented`, and each realistic bug loses exactly the cases it should."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from grading_helpers import (
    CNN,
    CONV_BACKWARD_PAD_SLICE,
    CONV_FORWARD_IGNORES_STRIDE,
    LAYERS,
    NAIVE_BACKWARD,
    NAIVE_FORWARD,
    POOL_BACKWARD_STRIDE_IS_POOL,
    assert_not_implemented,
    cli_args,
    grade_files,
    make_zip,
    mutate,
    reference_files,
    replace_function,
    small_training,
    source,
)

from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.sandbox.command import bwrap_path

FAST = ("overfit", "train")  # the training groups have their own tests below


@pytest.fixture(scope="module")
def hw5():
    return load_assignment("hw5_cnn")


def grade(tmp_path, assignment, files, only=(), skip=FAST, seed=7, prefix=""):
    return grade_files(tmp_path, assignment, files, seed=seed, skip=skip, only=only, prefix=prefix)


def cases_of(result, qid):
    question = next(q for q in result["questions"] if q["id"] == qid)
    return question, question["cases"]


def test_reference_scores_full_marks_without_training(tmp_path, hw5):
    result = grade(tmp_path, hw5, reference_files(hw5))
    assert result["status"] == "graded"
    for question in result["questions"]:
        assert question["status"] == "passed", (question["id"], question["message"])
        assert question["score"] == pytest.approx(question["max_score"] - _skipped_points(hw5, question["id"]))
    assert result["sandbox"]["kind"] == ("bwrap" if bwrap_path() else "rlimits-only")
    hidden = [c for q in result["questions"] for c in q["cases"] if c["hidden"]]
    assert hidden and all("params" in c for c in hidden)
    json.dumps(result, allow_nan=False)  # a valid JSON document


def _skipped_points(assignment, qid):
    return sum(c.points for c in assignment.question(qid).cases if c.group in FAST)


def test_same_seed_reproduces_the_hidden_cases(tmp_path, hw5):
    first = grade(tmp_path, hw5, reference_files(hw5), only=("Q1",), seed=11)
    again = grade(tmp_path, hw5, reference_files(hw5), only=("Q1",), seed=11)
    other = grade(tmp_path, hw5, reference_files(hw5), only=("Q1",), seed=12)
    params = [[c["params"] for c in r["questions"][0]["cases"]] for r in (first, again, other)]
    assert params[0] == params[1]
    assert params[0] != params[2]
    assert first["seed"] == 11


def test_template_scores_zero_and_says_not_implemented(tmp_path, hw5):
    files = {rel: source(hw5.template_dir, rel) for rel in (LAYERS, CNN)}
    result = grade(tmp_path, hw5, files, skip=())
    assert_not_implemented(result)
    for question in result["questions"]:
        assert "not implemented" in question["message"], question


def test_pad_slice_bug_loses_exactly_the_pad_zero_cases(tmp_path, hw5):
    layers = replace_function(source(hw5.reference_dir, LAYERS), "conv_backward_naive", CONV_BACKWARD_PAD_SLICE)
    result = grade(tmp_path, hw5, reference_files(hw5, layers=layers), only=("Q2",))
    question, cases = cases_of(result, "Q2")
    failed = {c["name"] for c in cases if not c["passed"]}
    assert failed == {c["name"] for c in cases if c["params"]["pad"] == 0} != set()
    assert question["status"] == "partial"
    assert any("wrong shape" in c["message"] for c in cases if not c["passed"])


def test_pool_backward_assuming_stride_equals_pool_loses_the_other_cases(tmp_path, hw5):
    layers = replace_function(source(hw5.reference_dir, LAYERS), "max_pool_backward_naive", POOL_BACKWARD_STRIDE_IS_POOL)
    result = grade(tmp_path, hw5, reference_files(hw5, layers=layers), only=("Q4",))
    _, cases = cases_of(result, "Q4")

    def tiles(p):
        return p["pool_height"] == p["pool_width"] == p["stride"]

    assert {c["name"] for c in cases if not c["passed"]} == {c["name"] for c in cases if not tiles(c["params"])}
    assert any(c["passed"] for c in cases)


def test_hard_coded_output_size_loses_the_strided_cases(tmp_path, hw5):
    layers = replace_function(source(hw5.reference_dir, LAYERS), "conv_forward_naive", CONV_FORWARD_IGNORES_STRIDE)
    result = grade(tmp_path, hw5, reference_files(hw5, layers=layers), only=("Q1", "Q3"))
    _, cases = cases_of(result, "Q1")
    assert {c["name"] for c in cases if not c["passed"]} == {c["name"] for c in cases if c["params"]["stride"] != 1}
    assert cases_of(result, "Q3")[0]["status"] == "passed"  # an untouched function keeps its points


def test_l2_without_half_loses_the_regularised_loss_cases(tmp_path, hw5):
    cnn = mutate(source(hw5.reference_dir, CNN), "loss += 0.5 * self.reg *", "loss += self.reg *")
    result = grade(tmp_path, hw5, reference_files(hw5, cnn=cnn), only=("Q5",))
    _, cases = cases_of(result, "Q5")
    failed = {c["name"] for c in cases if not c["passed"]}
    assert failed == {c["name"] for c in cases if c["params"].get("reg", 0) > 0} != set()


def test_reg_missing_from_gradients_loses_only_the_regularised_gradient_cases(tmp_path, hw5):
    cnn = mutate(source(hw5.reference_dir, CNN), 'grads[name] += self.reg * weights', "pass")
    result = grade(tmp_path, hw5, reference_files(hw5, cnn=cnn), only=("Q5",))
    _, cases = cases_of(result, "Q5")
    failed = {c["name"] for c in cases if not c["passed"]}
    expected = {c["name"] for c in cases if c["params"].get("reg", 0) > 0 and "loss sanity" not in c["name"]}
    assert failed == expected != set()


def test_hard_coded_input_size_loses_the_small_network_init(tmp_path, hw5):
    cnn = mutate(source(hw5.reference_dir, CNN), "(H // 2) * (W // 2)", "16 * 16")
    result = grade(tmp_path, hw5, reference_files(hw5, cnn=cnn), only=("Q5",))
    _, cases = cases_of(result, "Q5")
    failed = [c for c in cases if not c["passed"]]
    assert [c["name"] for c in failed] == ["initialisation (float64, small)"]
    assert "wrong shape" in failed[0]["message"]


def test_missing_cnn_costs_only_q5(tmp_path, hw5):
    files = reference_files(hw5)
    del files[CNN]
    result = grade(tmp_path, hw5, files, only=("Q1", "Q5"))
    assert result["status"] == "graded"
    assert cases_of(result, "Q1")[0]["status"] == "passed"
    q5, _ = cases_of(result, "Q5")
    assert q5["status"] == "ungradable" and q5["score"] == 0 and "cnn.py is missing" in q5["message"]


def test_syntax_error_makes_its_questions_ungradable_with_the_line(tmp_path, hw5):
    files = reference_files(hw5, cnn="def broken(:\n    pass\n")
    result = grade(tmp_path, hw5, files, only=("Q3", "Q5"))
    q5, _ = cases_of(result, "Q5")
    assert q5["status"] == "ungradable" and "line 1" in q5["message"]
    assert cases_of(result, "Q3")[0]["status"] == "passed"


@pytest.mark.parametrize("prefix", ["", "hw5_submission/", "cs231n_extra/"])
def test_zip_layouts_are_found(tmp_path, hw5, prefix):
    files = {rel.replace("intro2ai/", "cs231n/" if "cs231n" in prefix else "intro2ai/"): text
             for rel, text in reference_files(hw5).items()}  # fmt: skip
    result = grade(tmp_path, hw5, files, only=("Q3",), prefix=prefix)
    assert cases_of(result, "Q3")[0]["status"] == "passed"


def test_training_target_and_too_slow_network(tmp_path, hw5):
    """Mechanics of the training cases on 2,500 images; calibration lives in benchmarks/."""
    small = small_training(hw5, num_train=2500, target=0.12)
    only_training = ("Q5", "gradcheck", "overfit")  # the other Q5 groups have their own tests
    result = grade(tmp_path, small, reference_files(hw5), only=("Q5",), skip=only_training)
    _, cases = cases_of(result, "Q5")
    train = next(c for c in cases if "training accuracy" in c["name"])
    assert train["passed"], train["message"]  # 50 Adam steps lift the reference well above chance (0.10)
    assert train["threshold"] == 0.12 and train["value"] <= 1.0
    assert train["extras"]["loss_history"] and 0 <= train["extras"]["held_out_accuracy"] <= 1
    reference_cpu = train["time"]["reference_cpu_s"]
    assert train["time"]["cpu_limit_s"] == pytest.approx(max(0.5, hw5.time_policy.multiple * reference_cpu), abs=1e-3)

    slow_cnn = source(hw5.reference_dir, CNN)
    slow_cnn = mutate(slow_cnn, "        pooled, pool_cache = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)\n",
                      NAIVE_FORWARD)  # fmt: skip
    slow_cnn = mutate(slow_cnn, '        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, pool_cache, need_dx=False)\n',
                      NAIVE_BACKWARD)  # fmt: skip
    result = grade(tmp_path, small, reference_files(hw5, cnn=slow_cnn), only=("Q5",), skip=only_training)
    _, cases = cases_of(result, "Q5")
    assert [c["name"] for c in cases] == [train["name"]]
    train = cases[0]
    assert train["status"] == "timeout" and "CPU time limit" in train["message"]
    assert train["time"]["cpu_s"] >= hw5.time_policy.hint_multiple * train["time"]["reference_cpu_s"]
    assert "fast layers" in train["message"]


def test_cli_grades_a_zip_and_writes_json(tmp_path, hw5):
    zip_path = make_zip(tmp_path / "submit.zip", reference_files(hw5))
    out = tmp_path / "result.json"
    run = CliRunner().invoke(main, cli_args(*[str(zip_path), "--json", str(out), "-q", "Q3", "--seed", "3"]))
    assert run.exit_code == 0, run.output
    assert "Q3 max_pool_forward_naive" in run.output and "10/10" in run.output
    document = json.loads(out.read_text())
    assert document["seed"] == 3 and document["questions"][0]["score"] == 10


def test_cli_not_a_zip_is_ungradable_with_exit_3(tmp_path):
    bogus = tmp_path / "submit.zip"
    bogus.write_text("this is not a zip")
    run = CliRunner().invoke(main, cli_args(*[str(bogus)]))
    assert run.exit_code == 3
    assert "UNGRADABLE" in run.output and "Traceback" not in run.output


def test_cli_missing_file_is_a_usage_error(tmp_path):
    run = CliRunner().invoke(main, cli_args(*["zip", str(tmp_path / "nope.zip")]))
    assert run.exit_code == 2 and "does not exist" in run.output

"""Time limits on CPU time against the reference's measured cost, and a bug costing only its own question.

The CPU figures asserted here are lower bounds on CPU a test's code is known to burn (measured
with process_time inside the sandbox), never wall-clock timings.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from grading_helpers import make_zip, reference_files, replace_function, small_training, source

from autograder.assignment import TimePolicy, load_assignment
from autograder.grading.run import RunOptions, calibrate_limits, grade_zip
from autograder.grading.time_limits import ReferenceCosts, derive, group_key
from autograder.sandbox.supervisor import TimeLimit

LAYERS = "intro2ai/layers.py"


@pytest.fixture(scope="module")
def hw5():
    return load_assignment("hw5_cnn")


def grade(tmp_path, assignment, files, only, seed=5):
    zip_path = make_zip(tmp_path / "submit.zip", files)
    options = RunOptions(seed=seed, only=tuple(only), skip_groups=("overfit", "train"), parallel=2, max_blas_threads=1)
    return {q["id"]: q for q in grade_zip(zip_path, assignment, options).to_json()["questions"]}


def with_layer(hw5, name, new_def, **more):
    text = replace_function(source(hw5.reference_dir, LAYERS), name, new_def)
    for other, definition in more.items():
        text = replace_function(text, other, definition)
    return reference_files(hw5, layers=text)


# ---------------------------------------------------------------- the policy and its cache


def test_limits_are_named_multiples_of_the_reference_cost():
    policy = TimePolicy(multiple=3.0, floor_s=2.0, wall_multiple=3.0, wall_slack_s=10.0, busy_wall_multiple=5.0)
    assert derive(policy, 0.01).cpu_s == 2.0  # the floor
    assert derive(policy, 5.0) == TimeLimit(cpu_s=15.0, wall_s=55.0, busy_wall_s=275.0)


def test_reference_cost_is_measured_once_per_machine_and_code(hw5, tmp_path, monkeypatch):
    measured = []

    def measure():
        measured.append(1)
        return 1.25

    key = group_key("Q1", "Q1", 1, "embedded", [["conv_forward", {"pad": 1}]])
    threads = [threading.Thread(target=lambda: ReferenceCosts.open(hw5, tmp_path).ensure(key, measure)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert measured == [1]  # concurrent graders wait on the lock, then read the figure
    here = ReferenceCosts.open(hw5, tmp_path)
    assert here.get(key) == 1.25

    monkeypatch.setattr("autograder.grading.time_limits._cpu_model", lambda: "another CPU")
    elsewhere = ReferenceCosts.open(hw5, tmp_path)
    assert elsewhere.path != here.path and elsewhere.get(key) is None  # another machine measures afresh


def test_calibrate_measures_the_reference_through_the_sandbox(hw5, tmp_path):
    rows = calibrate_limits(hw5, RunOptions(only=(), skip_groups=("overfit", "train", "gradcheck"), cache_dir=tmp_path))
    by_group = {(r.question, r.group): r for r in rows}
    assert set(by_group) == {("Q1", "Q1"), ("Q2", "Q2"), ("Q3", "Q3"), ("Q4", "Q4"), ("Q5", "Q5")}
    for row in rows:
        assert row.reference_cpu_s is not None and row.reference_cpu_s >= 0
        assert row.limit.cpu_s == max(hw5.time_policy.floor_s, hw5.time_policy.multiple * row.reference_cpu_s)


# ---------------------------------------------------------------- CPU time, measured outside


BURN_FORWARD = '''
def conv_forward_naive(x, w, b, conv_param):
    """Burns CPU in a forked child and in this process: the limit counts every process of the sandbox."""
    import os
    import time
    pid = os.fork()
    start = time.process_time()
    while time.process_time() - start < 0.4:
        pass
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return _reference_conv_forward(x, w, b, conv_param)
'''


def test_cpu_time_counts_every_process_of_the_case(hw5, tmp_path):
    text = source(hw5.reference_dir, LAYERS).replace("def conv_forward_naive(", "def _reference_conv_forward(", 1)
    files = reference_files(hw5, layers=text + BURN_FORWARD)
    q1 = grade(tmp_path, hw5, files, only=("Q1",))["Q1"]
    assert q1["status"] == "passed", q1["message"]
    for case in q1["cases"]:
        timing = case["time"]
        # 0.4 s in the parent + 0.4 s in the forked child; the parent alone would be 0.4 s. The
        # cgroup's counter may lag by a clock tick (0.799 was seen), hence 0.7, not 0.8.
        assert timing["cpu_s"] >= 0.7
        assert timing["reference_cpu_s"] is not None and timing["cpu_limit_s"] >= hw5.time_policy.floor_s
        assert timing["wall_limit_s"] > timing["cpu_limit_s"]


SPIN = '''
def {name}(*args, **kwargs):
    while True:
        pass
'''


def test_endless_computation_is_too_slow_on_cpu_time_without_the_hint(hw5, tmp_path):
    q1 = grade(tmp_path, hw5, with_layer(hw5, "conv_forward_naive", SPIN.format(name="conv_forward_naive")),
               only=("Q1",))["Q1"]  # fmt: skip
    case = q1["cases"][0]
    assert case["status"] == "timeout" and "CPU time limit (2 s of CPU" in case["message"], case["message"]
    assert case["time"]["cpu_s"] >= case["time"]["cpu_limit_s"]


SLEEP = '''
def conv_forward_naive(x, w, b, conv_param):
    import time
    time.sleep(3600)
'''


def test_waiting_is_stopped_by_the_wall_clock_and_said_so(hw5, tmp_path):
    fast = dataclasses.replace(hw5, time_policy=dataclasses.replace(hw5.time_policy, floor_s=0.5, wall_slack_s=1.0))
    q1 = grade(tmp_path, fast, with_layer(hw5, "conv_forward_naive", SLEEP), only=("Q1",))["Q1"]
    case = q1["cases"][0]
    assert case["status"] == "timeout"
    assert "wall-clock time limit" in case["message"] and "waiting" in case["message"], case["message"]


# ---------------------------------------------------------------- a bug costs only its own question


FORK_FOREVER = '''
def max_pool_forward_naive(x, pool_param):
    import os
    import time
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)
'''


def test_slow_or_forking_forwards_cost_only_their_own_questions(hw5, tmp_path):
    files = with_layer(hw5, "conv_forward_naive", SPIN.format(name="conv_forward_naive"),
                       max_pool_forward_naive=FORK_FOREVER)  # fmt: skip
    questions = grade(tmp_path, hw5, files, only=("Q1", "Q2", "Q3", "Q4"))
    assert questions["Q1"]["score"] == 0 and questions["Q3"]["score"] == 0
    assert questions["Q2"]["score"] == questions["Q2"]["max_score"], questions["Q2"]["message"]
    assert questions["Q4"]["score"] == questions["Q4"]["max_score"], questions["Q4"]["message"]


CRASH_ON_PAD_0 = '''
def conv_forward_naive(x, w, b, conv_param):
    if conv_param["pad"] == 0:
        raise ValueError("pad 0 is not supported")
    return _reference_conv_forward(x, w, b, conv_param)
'''


def test_forward_crashing_on_one_input_costs_only_the_forward(hw5, tmp_path):
    text = source(hw5.reference_dir, LAYERS).replace("def conv_forward_naive(", "def _reference_conv_forward(", 1)
    questions = grade(tmp_path, hw5, reference_files(hw5, layers=text + CRASH_ON_PAD_0), only=("Q1", "Q2"))
    assert 0 < questions["Q1"]["score"] < questions["Q1"]["max_score"]
    assert questions["Q2"]["score"] == questions["Q2"]["max_score"], questions["Q2"]["message"]


OWN_LAYOUT_FORWARD = '''
def max_pool_forward_naive(x, pool_param):
    out, _ = _reference_pool_forward(x, pool_param)
    if x.shape[1] == 2:
        raise IndexError("channel 2 is out of range")
    return out, {"input": x, "param": pool_param}
'''

OWN_LAYOUT_BACKWARD = '''
def max_pool_backward_naive(dout, cache):
    return _reference_pool_backward(dout, (cache["input"], cache["param"]))
'''


def test_second_chance_on_the_students_own_cache_names_the_other_function(hw5, tmp_path):
    text = source(hw5.reference_dir, LAYERS)
    text = text.replace("def max_pool_forward_naive(", "def _reference_pool_forward(", 1)
    text = text.replace("def max_pool_backward_naive(", "def _reference_pool_backward(", 1)
    q4 = grade(tmp_path, hw5, reference_files(hw5, layers=text + OWN_LAYOUT_FORWARD + OWN_LAYOUT_BACKWARD),
               only=("Q4",))["Q4"]  # fmt: skip
    by_channels = {case["params"]["x_shape"][1]: case for case in q4["cases"]}
    passed = [c for c in q4["cases"] if c["passed"]]
    failed = [c for c in q4["cases"] if not c["passed"]]
    assert passed and all(c["params"]["x_shape"][1] != 2 for c in passed)  # its own cache layout works
    assert failed and 2 in by_channels, "the seed's public case has 2 channels"
    for case in failed:
        assert "raised in max_pool_forward_naive, which this case calls to build its cache" in case["message"]


# ---------------------------------------------------------------- the way it failed: graders side by side


@contextmanager
def cpu_burners(count: int):
    """Keeps `count` cores busy with spinning processes this test starts and stops."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


@pytest.mark.timeout(900)  # minutes when five other suites share the two cores, as here
def test_two_concurrent_grades_on_busy_cores_keep_their_training_points(hw5, tmp_path):
    """Two submissions graded at once while every core spins: CPU-time limits keep both training targets.

    The training case runs on 1,500 images (a declared size) with the floor lowered, so that the
    limit is the multiple of the reference's CPU time measured here, as at full size. The
    full-size run (two `grade` processes on the reference zip) is benchmarks/bench_concurrent_load.py.
    """
    small = small_training(hw5, num_train=1500, target=0.11)
    training = RunOptions(only=("Q5",), skip_groups=("Q5", "gradcheck"))  # the overfit and train groups
    rows = calibrate_limits(small, training)  # measured before the load, as on a grader's first run
    assert {r.group for r in rows} == {"overfit", "train"} and all(r.reference_cpu_s for r in rows)
    zips = [make_zip(tmp_path / f"student{n}.zip", reference_files(hw5)) for n in (1, 2)]
    options = [dataclasses.replace(training, seed=n, workdir=tmp_path / f"work{n}") for n in (1, 2)]
    with cpu_burners(os.cpu_count() or 2), ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda z, o: grade_zip(z, small, o).to_json(), zips, options))
    for result in results:
        cases = result["questions"][0]["cases"]
        assert {c["params"].get("num_train") for c in cases} == {100, 1500}  # overfit and the training target
        for case in cases:
            assert case["passed"], (case["name"], case["status"], case["message"], case["time"])
            assert case["time"]["reference_cpu_s"] is not None and case["time"]["cpu_s"] <= case["time"]["cpu_limit_s"]

"""Verdict agreement: known networks get the same Q5 training verdicts on the embedded data as on
the real CIFAR-10 subset (needs INTRO2AI_CIFAR_DIR; `.ci/run` sets it).

The slice here is the overfit item (seed cells 13-14: 30 Adam steps on 100 images) for every
network of tests/training_networks.py, graded through the whole engine (sandbox, judge,
targets per data set). The 1-epoch item trains 980 steps on 49,000 embedded images (minutes per
network on the 2-core course machine), so its agreement matrix is in
benchmarks/bench_agreement.py, with its figures in benchmarks/calibration.md.
"""

from __future__ import annotations

import pytest
from grading_helpers import make_zip
from training_networks import NETWORKS, network_files

from autograder.assignment import load_assignment
from autograder.grading.run import RunOptions, grade_zip

pytestmark = pytest.mark.cifar
OTHER_GROUPS = ("Q5", "gradcheck", "train")  # every Q5 group but "overfit"


def overfit_case(tmp_path, hw5, name, data):
    zip_path = make_zip(tmp_path / f"{abs(hash((name, data)))}.zip", network_files(hw5, name))
    options = RunOptions(seed=5, data=data, only=("Q5",), skip_groups=OTHER_GROUPS, max_blas_threads=1,
                           run_notebook=False)  # fmt: skip
    result = grade_zip(zip_path, hw5, options).to_json()
    (case,) = result["questions"][0]["cases"]
    return result["data"], case


@pytest.mark.parametrize("name", list(NETWORKS))
def test_overfit_verdicts_agree(tmp_path, cifar_dir, name):
    hw5 = load_assignment("hw5_cnn")
    embedded_label, embedded = overfit_case(tmp_path, hw5, name, "embedded")
    real_label, real = overfit_case(tmp_path, hw5, name, str(cifar_dir))
    assert (embedded_label, real_label) == ("embedded", "cifar10-subset")
    assert embedded["passed"] == real["passed"], (name, embedded["message"], real["message"])
    if name == "reference":
        assert embedded["passed"], embedded["message"]

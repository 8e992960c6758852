"""The calibration scripts' run loop (benchmarks/calibration_log.py), on a fake measurement: a
stopped calibration resumes where it stopped, and every finished run is in the log at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.assignment import import_file

calibration_log = import_file("calibration_log", Path(__file__).resolve().parents[1] / "benchmarks" / "calibration_log.py")


class Stop(Exception):
    """The fake calibration's stand-in for a kill in the middle of a run."""


def _keys():
    return [{"seed": seed, "threads": threads} for seed in (0, 1, 2) for threads in (1, 2)]


def test_a_stopped_calibration_keeps_its_finished_runs_and_resumes_with_the_rest(tmp_path):
    log = tmp_path / "runs.jsonl"
    measured, reported = [], []

    def measure(key, stop_at=None):
        if key == stop_at:
            raise Stop
        measured.append(key)
        return {**key, "accuracy": 0.5 + key["seed"] / 10}

    with pytest.raises(Stop):
        calibration_log.run_missing(log, _keys(), lambda key: measure(key, stop_at={"seed": 1, "threads": 2}))
    first = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["seed"], r["threads"]) for r in first] == [(0, 1), (0, 2), (1, 1)]  # written before the stop

    measured.clear()
    rows = calibration_log.run_missing(log, _keys(), measure, reported.append)
    assert measured == [{"seed": 1, "threads": 2}, {"seed": 2, "threads": 1}, {"seed": 2, "threads": 2}]
    assert reported == [{**k, "accuracy": 0.5 + k["seed"] / 10} for k in measured]
    assert [(r["seed"], r["threads"]) for r in rows] == [(k["seed"], k["threads"]) for k in _keys()]
    assert rows[:3] == first
    assert len(calibration_log.read_log(log)) == 6

    measured.clear()
    again = calibration_log.run_missing(log, _keys()[:2], measure)
    assert measured == [] and again == first[:2]  # a rerun with everything logged measures nothing


def test_a_key_names_a_run_by_all_its_fields(tmp_path):
    log = tmp_path / "runs.jsonl"
    log.write_text(json.dumps({"case": "a", "seed": 0, "threads": 1, "accuracy": 0.9}) + "\n")
    rows = calibration_log.run_missing(log, [{"case": "b", "seed": 0, "threads": 1}], lambda key: {**key, "accuracy": 0.7})
    assert rows == [{"case": "b", "seed": 0, "threads": 1, "accuracy": 0.7}]
    assert len(calibration_log.read_log(log)) == 2


def test_a_row_without_its_key_is_refused_before_it_is_logged(tmp_path):
    log = tmp_path / "runs.jsonl"
    with pytest.raises(ValueError, match="does not carry its key"):
        calibration_log.run_missing(log, [{"seed": 3, "threads": 1}], lambda key: {"accuracy": 0.7})
    assert calibration_log.read_log(log) == []


def test_rows_logged_before_a_measurement_was_added_are_measured_again(tmp_path):
    log = tmp_path / "runs.jsonl"
    log.write_text(json.dumps({"seed": 0, "threads": 1, "val": 0.4}) + "\n")
    rows = calibration_log.run_missing(log, [{"seed": 0, "threads": 1}] * 2,
                                       lambda key: {**key, "val": 0.4, "train_loss": 1.2}, needs=["train_loss"])
    assert rows == [{"seed": 0, "threads": 1, "val": 0.4, "train_loss": 1.2}] * 2  # measured once, then found
    assert len(calibration_log.read_log(log)) == 2

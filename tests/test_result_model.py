"""The typed result (schema 2): real results are valid against docs/result-schema.json, survive a JSON
round trip unchanged, and the schema-1 documents older gradebooks hold still read."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from grading_helpers import make_zip, mutate
from results_factory import make_result

from autograder.assignment import load_assignment
from autograder.grading.result import SCHEMA_VERSION, Result, json_schema
from autograder.grading.run import RunOptions, grade_zip

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "result-schema.json"
TINY = Path(__file__).resolve().parent / "tiny_course" / "assignments" / "tiny_ops"


@pytest.fixture(scope="module")
def schema():
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def real_results(tmp_path_factory):
    """A graded, an ungradable and a partly failing result of the tiny course (seconds to grade)."""
    tiny = load_assignment(TINY)
    folder = tmp_path_factory.mktemp("results")
    reference = (tiny.reference_dir / "tinyops" / "ops.py").read_text()
    buggy = mutate(reference, "    probs = exp / np.sum(exp, axis=1, keepdims=True)\n", "    probs = exp\n")
    zips = [make_zip(folder / "ref.zip", {"tinyops/ops.py": reference}),
            make_zip(folder / "bug.zip", {"tinyops/ops.py": buggy}),
            make_zip(folder / "empty.zip", {"notes.txt": "nothing"})]  # fmt: skip
    return [grade_zip(z, tiny, RunOptions(seed=2, run_notebook=False)) for z in zips]


def test_the_committed_schema_is_the_model_s(schema):
    assert schema == json.loads(json.dumps(json_schema())), (
        "regenerate: python -c 'import json; from autograder.grading.result import json_schema; "
        "print(json.dumps(json_schema(), indent=2, sort_keys=True))' > docs/result-schema.json")


def test_real_results_are_valid_and_round_trip(schema, real_results):
    assert [r.status for r in real_results] == ["graded", "graded", "ungradable"]
    for result in real_results:
        document = json.loads(json.dumps(result.to_json(), allow_nan=False))
        jsonschema.validate(document, schema)
        assert document["schema"] == SCHEMA_VERSION
        assert Result.from_json(document) == result


def test_the_schema_rejects_a_malformed_document(schema, real_results):
    document = real_results[0].to_json()
    broken = {**document, "questions": [{**document["questions"][0], "score": "ten"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in document.items() if k != "status"}, schema)


def test_a_schema_1_document_reads_and_upgrades(schema):
    old = make_result("s1", passed={"Q1": 4})
    old["notebook"] = {"file": "HW5.ipynb", "status": "passed", "ran_cleanly": True, "message": "", "first_failure": None,
                       "elapsed_s": 20.0, "cells_executed": 19, "code_cells": 19, "edited_cells": [], "added_cells": [],
                       "truncated_cells": [], "warnings": [], "data": "embedded", "max_train": 2000,
                       "cell_timeout_s": 120, "total_timeout_s": 600}  # fmt: skip
    result = Result.from_json(old)
    assert result.schema == SCHEMA_VERSION and result.notebook.env == {"INTRO2AI_MAX_TRAIN": "2000"}
    assert result.questions[0].cases[0].name == old["questions"][0]["cases"][0]["name"]
    jsonschema.validate(json.loads(json.dumps(result.to_json())), schema)
    with pytest.raises(ValueError, match="unsupported result schema 7"):
        Result.from_json({**old, "schema": 7})

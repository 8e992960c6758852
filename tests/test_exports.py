"""LMS exports: each file is parsed back with the csv/json modules and compared to the gradebook."""

from __future__ import annotations

import csv
import io
import json

import pytest
from results_factory import HOSTILE, at, make_result

from autograder.gradebook import Policy, open_gradebook
from autograder.reports.blackboard import write_blackboard
from autograder.reports.canvas import POINTS_POSSIBLE, write_canvas
from autograder.reports.gradescope import gradescope_results, write_gradescope
from autograder.reports.moodle import write_moodle
from autograder.reports.plain_csv import write_plain_csv
from autograder.reports.tabular import fmt_points, index_scores, safe_text

HW = "hw5_cnn"
CANVAS_ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,HW4 (101)
    Points Possible,,,,,100
"Kim, Minji",5001,2026001,minji,AI-01,90
"Lee, Jun",5002,2026002,junlee,AI-01,80
"Park, Seo",5003,,seo.park,AI-02,70
"Choi, Ara",5004,2026004,ara,AI-02,
"Jung, Twin",5005,2026005,twin,AI-02,
"Jung, Twin2",5006,2026006,twin,AI-02,
"Student, Test",5099,,,AI-01,
"""


@pytest.fixture
def scores(tmp_path):
    """Counted scores: partial, manual-graded, late, ungradable and off-roster students."""
    with open_gradebook(tmp_path / "g.db") as gb:
        gb.record(make_result("2026001", passed={"Q1": 3, "Q5": 1}), "2026001", at(0))
        gb.record(make_result("junlee"), "junlee", at(2))                       # 1 day late
        gb.record(make_result("5003", ungradable="no layers.py"), "5003", at(0))
        gb.record(make_result("twin", passed={"Q2": 0}), "twin", at(0))         # duplicate login
        gb.record(make_result("ghost"), "ghost", at(0))                         # not in roster
        gb.set_manual("2026001", HW, "written_answers", 3.5, "=HYPERLINK(\"x\")", "ta")
        yield gb.counted_scores(HW, Policy(due=at(1), penalty_per_day=0.1))


def _canvas(tmp_path, scores):
    roster = tmp_path / "canvas_export.csv"
    roster.write_text("\ufeff" + CANVAS_ROSTER, encoding="utf-8")
    out = tmp_path / "canvas_import.csv"
    warnings = write_canvas(out, scores, roster, "HW5: CNN", 4711)
    return list(csv.reader(out.open(newline="", encoding="utf-8"))), warnings


def test_canvas_round_trip(tmp_path, scores):
    rows, warnings = _canvas(tmp_path, scores)
    by = {s.student: s.score for s in scores}
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW5: CNN (4711)"]
    assert rows[1] == [POINTS_POSSIBLE, "", "", "", "", "105"]
    body = {r[0]: r for r in rows[2:]}
    assert len(rows) == 2 + 7
    assert float(body["Kim, Minji"][5]) == pytest.approx(by["2026001"], abs=5e-5)   # SIS User ID
    assert float(body["Lee, Jun"][5]) == pytest.approx(by["junlee"]) == 90.0      # SIS Login ID
    assert float(body["Park, Seo"][5]) == by["5003"] == 0.0                        # Canvas ID
    assert body["Choi, Ara"][5] == "" and body["Jung, Twin"][5] == "" and body["Jung, Twin2"][5] == ""
    assert body["Kim, Minji"][:5] == ["Kim, Minji", "5001", "2026001", "minji", "AI-01"]
    text = "\n".join(warnings)
    assert "duplicate SIS Login ID 'twin' on lines 7, 8" in text
    assert "student 'twin': SIS Login ID is ambiguous" in text
    assert "student 'ghost' has a grade but is not in the roster" in text
    for name in ("Choi, Ara", "Jung, Twin", "Student, Test"):
        assert f"({name}): no submission" in text


def test_canvas_needs_its_columns(tmp_path, scores):
    roster = tmp_path / "r.csv"
    roster.write_text("Name,Email\nA,a@x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks column"):
        write_canvas(tmp_path / "o.csv", scores, roster, "HW5", 1)


def test_moodle_round_trip_without_roster(tmp_path, scores):
    out = tmp_path / "moodle.csv"
    assert write_moodle(out, scores, "HW5 CNN") == []
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert list(rows[0]) == ["ID number", "HW5 CNN", "Feedback"]
    assert {r["ID number"]: float(r["HW5 CNN"]) for r in rows} == pytest.approx(
        {s.student: s.score for s in scores}, abs=5e-5)
    kim = next(r for r in rows if r["ID number"] == "2026001")
    assert kim["Feedback"].startswith(f"{fmt_points(kim_score(scores))}/105 (graded); Q1 7.5/15 partial")
    assert "written_answers 3.5/5: =HYPERLINK" in kim["Feedback"]
    late = next(r for r in rows if r["ID number"] == "junlee")
    assert "1 day(s) late: x0.9" in late["Feedback"]


def kim_score(scores):
    return next(s.score for s in scores if s.student == "2026001")


def test_moodle_email_from_roster(tmp_path, scores):
    roster = tmp_path / "moodle_export.csv"
    roster.write_text("First name,Last name,ID number,Institution,Department,Email address\n"
                      "Minji,Kim,2026001,U,AI,minji@u.ac.kr\nJun,Lee,junlee,U,AI,jun@u.ac.kr\n"
                      "Ara,Choi,2026004,U,AI,ara@u.ac.kr\n", encoding="utf-8")
    out = tmp_path / "moodle.csv"
    warnings = write_moodle(out, scores, "HW5", identifier="email", roster_path=roster)
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert {r["Email address"]: float(r["HW5"]) for r in rows} == pytest.approx(
        {"minji@u.ac.kr": kim_score(scores), "jun@u.ac.kr": 90.0})
    text = "\n".join(warnings)
    assert "(2026004, ara@u.ac.kr): no submission" in text
    for missing in ("ghost", "twin", "5003"):
        assert f"student {missing!r} has a grade but is not in the roster" in text


@pytest.mark.parametrize("delimiter", ["tab", "comma"])
def test_blackboard_round_trip(tmp_path, scores, delimiter):
    out = tmp_path / ("bb.xls" if delimiter == "tab" else "bb.csv")
    warnings = write_blackboard(out, scores, "HW5 CNN", column_id="_123_1", delimiter=delimiter)
    assert warnings == []
    raw = out.read_bytes()
    if delimiter == "tab":
        assert raw.startswith(b"\xff\xfe")
        text = raw.decode("utf-16")
    else:
        text = raw.decode("utf-8")
        assert all(line.startswith('"') and line.endswith('"') for line in text.splitlines())
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t" if delimiter == "tab" else ","))
    assert rows[0] == ["Username", "HW5 CNN [Total Pts: 105 Score] |_123_1"]
    assert {r[0]: float(r[1]) for r in rows[1:]} == pytest.approx({s.student: s.score for s in scores})


def test_blackboard_with_roster_and_without_column_id(tmp_path, scores):
    roster = tmp_path / "gc.xls"
    text = ("Last Name\tFirst Name\tUsername\tStudent ID\tLast Access\tAvailability\n"
            "Kim\tMinji\tmkim\t2026001\t\tAvailable\nLee\tJun\tjunlee\t2026002\t\tAvailable\n")
    roster.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    out = tmp_path / "bb.csv"
    warnings = write_blackboard(out, scores, "HW5", delimiter="comma", roster_path=roster)
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert rows[0] == ["Username", "HW5 [Total Pts: 105 Score]"]
    assert {r[0]: float(r[1]) for r in rows[1:]} == pytest.approx({"mkim": kim_score(scores), "junlee": 90.0})
    assert any("create a new text column" in w for w in warnings)
    assert any("'ghost' has a grade but is not in the roster" in w for w in warnings)


def test_gradescope_results(tmp_path):
    doc = make_result("s1", passed={"Q1": 4, "Q5": 1}, errors={"Q3": "timeout"})
    path = write_gradescope(tmp_path / "results" / "results.json", doc)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["score"] == doc["score"] and data["execution_time"] == 3.2
    assert (data["visibility"], data["stdout_visibility"]) == ("visible", "hidden")
    tests = data["tests"]
    assert sum(t["score"] for t in tests) == pytest.approx(doc["score"])
    assert sum(t["max_score"] for t in tests) == pytest.approx(doc["max_score"])
    assert {t["status"] for t in tests} == {"passed", "failed"}
    q1 = [t for t in tests if t["number"].startswith("Q1.")]
    assert [t["status"] for t in q1] == ["passed"] * 4 + ["failed"] * 2
    assert [t["visibility"] for t in q1] == ["visible"] + ["after_published"] * 5
    assert "hidden case: parameters" in q1[1]["output"] and "rel_error = 3e-09" in q1[1]["output"]
    [q3] = [t for t in tests if t["number"] == "Q3"]
    assert (q3["score"], q3["max_score"], q3["status"]) == (0.0, 10.0, "failed")
    assert "time limit" in q3["output"]
    for t in tests:
        assert set(t) == {"score", "max_score", "status", "name", "number", "output", "visibility"}


def test_gradescope_ungradable_keeps_the_fix():
    data = gradescope_results(make_result("s1", ungradable="no layers.py: zip the intro2ai folder"))
    assert data["score"] == 0.0 and data["tests"] == []
    assert data["output"].startswith("no layers.py: zip the intro2ai folder")


def test_plain_csv_round_trip(tmp_path, scores):
    out = tmp_path / "grades.csv"
    assert write_plain_csv(out, scores) == []
    rows = {r["student"]: r for r in csv.DictReader(out.open(newline="", encoding="utf-8"))}
    assert set(rows) == {s.student for s in scores}
    for s in scores:
        row = rows[s.student]
        assert float(row["total"]) == pytest.approx(s.score, abs=5e-5)
        assert row["status"] == s.status and float(row["max_score"]) == s.max_score
        for q in s.questions:
            assert float(row[q.id]) == pytest.approx(q.score)
    assert rows["2026001"]["written_answers"] == "3.5" and rows["junlee"]["days_late"] == "1"
    assert rows["5003"]["status"] == "ungradable" and rows["5003"]["Q1"] == ""


def test_helpers():
    assert [fmt_points(x) for x in (100.0, 33.333333, 2.50, -0.0, None)] == ["100", "33.3333", "2.5", "0", ""]
    assert safe_text("=1+1") == "'=1+1" and safe_text("-2") == "'-2" and safe_text("ok") == "ok"
    assert safe_text(HOSTILE) == HOSTILE


def test_duplicate_students_are_reported_not_exported(tmp_path, scores):
    doubled = list(scores) + [scores[0]]
    by, warnings = index_scores(doubled)
    assert scores[0].student not in by
    assert warnings == [f"student {scores[0].student!r} appears more than once in the grades; not exported"]
    out = tmp_path / "m.csv"
    assert write_moodle(out, doubled, "HW5") == warnings
    assert scores[0].student not in out.read_text(encoding="utf-8")

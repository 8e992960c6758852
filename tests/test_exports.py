"""LMS exports: each file is parsed back with the csv/json modules, compared to the gradebook and
checked against the importing LMS's own rules (Canvas clears a grade for a blank cell; Moodle
refuses a whole file for one unknown identifier or one grade above 100)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest
from results_factory import HOSTILE, at, make_result

from autograder.assignment import Visibility
from autograder.course.gradebook import Policy, open_gradebook
from autograder.grading.result import Result
from autograder.reports.blackboard import write_blackboard
from autograder.reports.canvas import POINTS_POSSIBLE, write_canvas
from autograder.reports.gradescope import gradescope_results, write_gradescope
from autograder.reports.moodle import write_moodle, write_moodle_worksheet
from autograder.reports.plain_csv import write_plain_csv
from autograder.reports.tabular import Scale, fmt_points, index_scores, safe_text

HW = "hw5_cnn"
TARGET = "HW5: CNN (4711)"
CANVAS_ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,HW4 (101),HW5: CNN (4711)
    Points Possible,,,,,100,105
"Kim, Minji",5001,2026001,minji,AI-01,90,
"Lee, Jun",5002,2026002,junlee,AI-01,80,
"Park, Seo",5003,,seo.park,AI-02,70,
"Choi, Ara",5004,2026004,ara,AI-02,,95
"Jung, Twin",5005,2026005,twin,AI-02,,
"Jung, Twin2",5006,2026006,twin,AI-02,,
"Student, Test",5099,,,AI-01,,EX
"Oh, Fault",5007,2026007,oh,AI-01,,88
"""


@pytest.fixture
def scores(tmp_path):
    """Counted scores: partial, manual-graded, late, ungradable, off-roster, above-100 and a grader
    fault (status `error`, #18: no grade, never a 0)."""
    with open_gradebook(tmp_path / "g.db") as gb:
        gb.record(make_result("2026001", passed={"Q1": 3, "Q5": 1}), "2026001", at(0))
        gb.record(make_result("junlee"), "junlee", at(2))                       # 1 day late
        gb.record(make_result("5003", ungradable="no layers.py"), "5003", at(0))
        gb.record(make_result("twin", passed={"Q2": 0}), "twin", at(0))         # duplicate login
        gb.record(make_result("ghost"), "ghost", at(0))                         # not in roster
        gb.record(make_result("2026007"), "2026007", at(0))                     # becomes a grader fault
        gb.set_manual("2026001", HW, "written_answers", 3.5, "=HYPERLINK(\"x\")", "ta")
        gb.set_manual("ghost", HW, "written_answers", 5.0, "", "ta")            # 105 of 105
        counted = gb.counted_scores(HW, Policy(due=at(1), penalty_per_day=0.1))
    return [dataclasses.replace(s, status="error") if s.student == "2026007" else s for s in counted]


def graded(scores):
    return {s.student: s.score for s in scores if s.status != "error"}


def _canvas(tmp_path, scores, roster_text=CANVAS_ROSTER, encoding="utf-8"):
    roster = tmp_path / "canvas_export.csv"
    roster.write_text("\ufeff" + roster_text, encoding=encoding)
    out = tmp_path / "canvas_import.csv"
    report = write_canvas(out, scores, roster, "HW5: CNN", 4711)
    return list(csv.reader(out.open(newline="", encoding="utf-8"))), report


def canvas_import(current: dict[str, str], rows: list[list[str]]) -> dict[str, str]:
    """Canvas's importer as the issue describes it (gradebook_importer.rb): a row's cell replaces the
    current grade, a blank one clears it (posted_grade ""); students without a row keep theirs."""
    after = dict(current)
    for row in rows[2:]:
        after[row[1]] = row[-1]
    return after


def test_canvas_round_trip_keeps_existing_grades_and_excused(tmp_path, scores):
    rows, report = _canvas(tmp_path, scores)
    by = graded(scores)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", TARGET]
    assert rows[1] == [POINTS_POSSIBLE, "", "", "", "", "105"]
    assert all(row[-1] != "" for row in rows[2:])  # a blank cell would clear the grade in Canvas
    roster = list(csv.DictReader(io.StringIO(CANVAS_ROSTER)))[1:]
    before = {r["ID"]: r[TARGET] for r in roster}
    after = canvas_import(before, rows)
    assert after["5004"] == "95" and after["5099"] == "EX"      # no submission: untouched
    assert after["5007"] == "88"                                # grader fault: no grade, not a 0
    assert after["5005"] == after["5006"] == ""                 # ambiguous login: left as it was
    assert float(after["5001"]) == pytest.approx(by["2026001"], abs=5e-5)   # SIS User ID
    assert float(after["5002"]) == pytest.approx(by["junlee"]) == 90.0      # SIS Login ID
    assert float(after["5003"]) == by["5003"] == 0.0                        # Canvas ID; ungradable earns 0
    assert report.rows == 3 == len(rows) - 2
    text = "\n".join(report.warnings)
    assert "duplicate SIS Login ID 'twin' on lines 7, 8" in text
    assert "student 'twin': SIS Login ID is ambiguous" in text
    assert "student 'ghost' has a grade but is not in the roster" in text
    summary = report.summary()
    assert summary.startswith(f"wrote {tmp_path / 'canvas_import.csv'}: 3 row(s); 2 student(s) skipped")
    assert "ghost: not matched to one roster row" in summary and "twin: not matched" in summary
    assert "2026007 (error)" in summary and "Choi, Ara (no submission)" in summary
    assert "Oh, Fault" not in summary  # submitted; its grading failed: listed once, as no grade
    assert "Student, Test (no submission)" in summary and "Canvas keeps their current grade" in summary
    assert summary.endswith("scale: none (points as graded)")


def test_canvas_warns_before_replacing_an_excused_grade(tmp_path, scores):
    roster = CANVAS_ROSTER.replace('"Lee, Jun",5002,2026002,junlee,AI-01,80,', '"Lee, Jun",5002,2026002,junlee,AI-01,80,EX')
    _, report = _canvas(tmp_path, scores, roster)
    assert any("(Lee, Jun) is excused (EX) in Canvas" in w for w in report.warnings)


def test_canvas_reads_a_semicolon_export(tmp_path, scores):
    semicolon = "\n".join(";".join(row) for row in csv.reader(io.StringIO(CANVAS_ROSTER))) + "\n"
    rows, report = _canvas(tmp_path, scores, semicolon)
    comma_rows, _ = _canvas(tmp_path, scores)
    assert rows == comma_rows and report.rows == 3


def test_canvas_reads_the_last_and_first_name_layout(tmp_path, scores):
    text = ("LastName,FirstName,ID,SIS Login ID,Section,HW5: CNN (4711)\n"
            "Points Possible,,,,,105\n"
            "Lee,Jun,5002,junlee,AI-01,\nChoi,Ara,5004,ara,AI-02,95\nPark,Seo,5003,seo.park,AI-02,\n")
    rows, report = _canvas(tmp_path, scores, text)
    assert rows[0] == ["LastName", "FirstName", "ID", "SIS Login ID", "Section", TARGET]
    assert rows[1] == [POINTS_POSSIBLE, "", "", "", "", "105"]
    assert {r[2]: r[-1] for r in rows[2:]} == {"5002": "90", "5003": "0"}
    assert "Choi, Ara (no submission)" in report.summary()


def test_canvas_needs_its_columns(tmp_path, scores):
    roster = tmp_path / "r.csv"
    roster.write_text("Name,Email\nA,a@x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks column.s. Student or LastName, ID, SIS Login ID, Section"):
        write_canvas(tmp_path / "o.csv", scores, roster, "HW5", 1)


def test_canvas_with_nobody_to_grade_writes_nothing(tmp_path, scores):
    roster = tmp_path / "r.csv"
    roster.write_text("Student,ID,SIS Login ID,Section\nNew Person,6000,newp,AI-03\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no roster student has a grade"):
        write_canvas(tmp_path / "o.csv", scores, roster, "HW5", 1)
    assert not (tmp_path / "o.csv").exists()


MOODLE_ROSTER = ("First name,Last name,ID number,Institution,Department,Email address\n"
                 "Minji,Kim,2026001,U,AI,minji@u.ac.kr\nJun,Lee,junlee,U,AI,jun@u.ac.kr\n"
                 "Ara,Choi,2026004,U,AI,ara@u.ac.kr\nGhost,Top,ghost,U,AI,ghost@u.ac.kr\n"
                 "Oh,Fault,2026007,U,AI,oh@u.ac.kr\n")


def moodle_accepts(path, roster_ids: set[str], column: str, grade_column: str) -> list[dict[str, str]]:
    """Moodle's grade/import/csv rules (load_data.php): an identifier not in the course aborts the
    whole file (usermappingerrorusernotfound), as does one grade above 100 (gradevaluetoobig)."""
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    for row in rows:
        assert row[column] in roster_ids, f"usermappingerrorusernotfound: {row[column]}"
        assert float(row[grade_column]) <= 100.0, f"gradevaluetoobig: {row[grade_column]}"
    return rows


def test_moodle_refuses_grades_above_100_unless_scaled(tmp_path, scores):
    out = tmp_path / "moodle.csv"
    with pytest.raises(ValueError, match="grades up to 105 are above 100.*gradevaluetoobig.*--scale-to 100"):
        write_moodle(out, scores, "HW5 CNN")
    assert not out.exists()
    report = write_moodle(out, scores, "HW5 CNN", scale=Scale(100))
    rows = moodle_accepts(out, set(graded(scores)), "ID number", "HW5 CNN")
    assert list(rows[0]) == ["ID number", "HW5 CNN", "Feedback"]
    assert {r["ID number"]: float(r["HW5 CNN"]) for r in rows} == pytest.approx(
        {s: v * 100 / 105 for s, v in graded(scores).items()}, abs=5e-5)
    assert float(next(r for r in rows if r["ID number"] == "ghost")["HW5 CNN"]) == 100.0
    kim = next(r for r in rows if r["ID number"] == "2026001")
    assert kim["Feedback"].startswith(f"{fmt_points(kim_score(scores))}/105 (graded); Q1 7.5/15 partial")
    assert "written_answers 3.5/5: =HYPERLINK" in kim["Feedback"]
    assert "1 day(s) late: x0.9" in next(r for r in rows if r["ID number"] == "junlee")["Feedback"]
    assert "2026007" not in {r["ID number"] for r in rows}  # a grader fault is no grade
    assert any("no --roster" in w and "refuses the whole file" in w for w in report.warnings)
    assert report.summary().endswith("scale: scaled to 100 points")


def kim_score(scores):
    return next(s.score for s in scores if s.student == "2026001")


def test_moodle_leaves_out_students_not_in_the_roster(tmp_path, scores):
    roster = tmp_path / "moodle_export.csv"
    roster.write_text(MOODLE_ROSTER, encoding="utf-8")
    out = tmp_path / "moodle.csv"
    report = write_moodle(out, scores, "HW5", identifier="email", roster_path=roster, scale=Scale(100))
    emails = {r["Email address"] for r in csv.DictReader(io.StringIO(MOODLE_ROSTER))}
    rows = moodle_accepts(out, emails, "Email address", "HW5")
    assert {r["Email address"]: float(r["HW5"]) for r in rows} == pytest.approx(
        {"minji@u.ac.kr": kim_score(scores) * 100 / 105, "jun@u.ac.kr": 90 * 100 / 105, "ghost@u.ac.kr": 100.0})
    summary = report.summary()
    for missing in ("twin", "5003"):
        assert f"{missing}: not in the roster (Moodle would refuse the file)" in summary
    assert "3 row(s); 2 student(s) skipped" in summary and "2026007 (error)" in summary
    assert "(2026004, ara@u.ac.kr): no submission" in "\n".join(report.warnings)


def test_moodle_worksheet_warns_about_the_maximum_and_the_language(tmp_path, scores):
    participants = [dataclasses.replace(s, student=str(7000 + n)) if s.student != "ghost" else s
                    for n, s in enumerate(scores)]
    out = tmp_path / "worksheet.csv"
    report = write_moodle_worksheet(out, participants, "2026-12-01 10:00:00 UTC")
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert list(rows[0]) == ["Identifier", "Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments"]
    assert {r["Identifier"] for r in rows} == {f"Participant {7000 + n}" for n, s in enumerate(scores)
                                               if s.student not in ("ghost", "2026007")}
    text = "\n".join(report.warnings)
    assert "skips, without a message, a grade above the assignment's Maximum grade: set it to at least 90" in text
    assert "English" in text
    assert "ghost: not a Moodle participant id" in report.summary()


def test_moodle_worksheet_without_participants_is_refused(tmp_path, scores):
    out = tmp_path / "worksheet.csv"
    logins = [s for s in scores if not s.student.isdigit()]  # graded from <login>.zip files, not a Moodle download
    with pytest.raises(ValueError, match="no graded student is recorded by a Moodle participant id"):
        write_moodle_worksheet(out, logins, "2026-12-01 10:00:00 UTC")
    assert not out.exists()


@pytest.mark.parametrize("delimiter", ["tab", "comma"])
def test_blackboard_round_trip_with_feedback(tmp_path, scores, delimiter):
    out = tmp_path / ("bb.xls" if delimiter == "tab" else "bb.csv")
    report = write_blackboard(out, scores, "HW5 CNN", column_id="_123_1", delimiter=delimiter)
    assert report.warnings == [] and report.rows == len(graded(scores))
    raw = out.read_bytes()
    if delimiter == "tab":
        assert raw.startswith(b"\xff\xfe")
        text = raw.decode("utf-16")
    else:
        text = raw.decode("utf-8")
        assert all(line.startswith('"') and line.endswith('"') for line in text.splitlines())
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t" if delimiter == "tab" else ","))
    assert rows[0] == ["Username", "HW5 CNN [Total Pts: 105 Score] |_123_1", "Feedback to User", "Feedback Format"]
    assert {r[0]: float(r[1]) for r in rows[1:]} == pytest.approx(graded(scores))
    kim = next(r for r in rows if r[0] == "2026001")
    assert kim[2].startswith(f"{fmt_points(kim_score(scores))}/105 (graded)") and kim[3] == "PLAIN_TEXT"


def test_blackboard_warns_when_the_extension_does_not_match(tmp_path, scores):
    report = write_blackboard(tmp_path / "bb.csv", scores, "HW5", column_id="_1_1", delimiter="tab")
    assert any("tab-delimited upload only from a .xls or .txt file" in w for w in report.warnings)
    report = write_blackboard(tmp_path / "bb.xls", scores, "HW5", column_id="_1_1", delimiter="comma")
    assert any("comma-delimited upload only from a .csv file" in w for w in report.warnings)


def test_blackboard_with_roster_and_without_column_id(tmp_path, scores):
    roster = tmp_path / "gc.xls"
    text = ("Last Name\tFirst Name\tUsername\tStudent ID\tLast Access\tAvailability\n"
            "Kim\tMinji\tmkim\t2026001\t\tAvailable\nLee\tJun\tjunlee\t2026002\t\tAvailable\n")
    roster.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    out = tmp_path / "bb.csv"
    report = write_blackboard(out, scores, "HW5", delimiter="comma", roster_path=roster, scale=Scale(50))
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert rows[0][:2] == ["Username", "HW5 [Total Pts: 50 Score]"]
    assert {r[0]: float(r[1]) for r in rows[1:]} == pytest.approx({"mkim": kim_score(scores) * 50 / 105,
                                                                   "junlee": 90 * 50 / 105}, abs=5e-5)
    assert any("create a new text column" in w for w in report.warnings)
    assert "ghost: not in the roster" in report.summary()


AFTER_PUBLISHED = Visibility(hidden_inputs="after_published")


def test_gradescope_results(tmp_path):
    doc = make_result("s1", passed={"Q1": 4, "Q5": 1}, errors={"Q3": "timeout"})
    path = write_gradescope(tmp_path / "results" / "results.json", Result.from_json(doc), AFTER_PUBLISHED)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["score"] == doc["score"] and data["execution_time"] == 3.2
    assert (data["visibility"], data["stdout_visibility"]) == ("visible", "hidden")
    tests = data["tests"]
    assert sum(t["score"] for t in tests) == pytest.approx(doc["score"])
    assert sum(t["max_score"] for t in tests) == pytest.approx(doc["max_score"])
    assert {t["status"] for t in tests} == {"passed", "failed"}
    q1 = [t for t in tests if t["number"].startswith("Q1.") and t["number"] != "Q1.out"]
    assert [t["status"] for t in q1] == ["passed"] * 4 + ["failed"] * 2
    assert [t["visibility"] for t in q1] == ["visible"] + ["after_published"] * 5
    assert "hidden case: parameters" in q1[1]["output"] and "rel_error = 3e-09" in q1[1]["output"]
    [q3] = [t for t in tests if t["number"] == "Q3"]
    assert (q3["score"], q3["max_score"], q3["status"]) == (0.0, 10.0, "failed")
    assert "time limit" in q3["output"]
    [out] = [t for t in tests if t["number"] == "Q1.out"]
    assert (out["max_score"], out["visibility"], out["output"]) == (0.0, "visible", "iteration 1 / 10: loss 2.30\n")
    for t in tests:
        assert set(t) == {"score", "max_score", "status", "name", "number", "output", "visibility"}


@pytest.mark.parametrize("level", ["visible", "after_due_date", "hidden"])
def test_gradescope_applies_the_visibility_levels(level):
    data = gradescope_results(Result.from_json(make_result("s1")), Visibility(hidden_inputs=level, stdout=level))
    hidden = [t for t in data["tests"] if "hidden case: parameters" in t["output"]]
    assert len(hidden) == 22 and {t["visibility"] for t in hidden} == {level}
    assert {t["visibility"] for t in data["tests"] if t["number"].endswith(".out")} == {level}
    assert "90210" not in data["output"]


def test_gradescope_ungradable_keeps_the_fix():
    data = gradescope_results(Result.from_json(make_result("s1", ungradable="no layers.py: zip the intro2ai folder")), AFTER_PUBLISHED)
    assert data["score"] == 0.0 and data["tests"] == []
    assert data["output"].startswith("no layers.py: zip the intro2ai folder")


def test_plain_csv_round_trip(tmp_path, scores):
    out = tmp_path / "grades.csv"
    report = write_plain_csv(out, scores)
    assert report.skipped == [] and report.no_grade == ["2026007 (error)"] and report.rows == len(scores)
    rows = {r["student"]: r for r in csv.DictReader(out.open(newline="", encoding="utf-8"))}
    assert set(rows) == {s.student for s in scores}
    for student, score in graded(scores).items():
        assert float(rows[student]["total"]) == pytest.approx(score, abs=5e-5)
    for s in scores:
        assert rows[s.student]["status"] == s.status and float(rows[s.student]["max_score"]) == s.max_score
        for q in s.questions:
            assert float(rows[s.student][q.id]) == pytest.approx(q.score)
    assert rows["2026007"]["total"] == "" and rows["2026007"]["auto_score"] == ""  # a fault is not a 0
    assert rows["2026001"]["written_answers"] == "3.5" and rows["junlee"]["days_late"] == "1"
    assert rows["5003"]["status"] == "ungradable" and rows["5003"]["Q1"] == "" and rows["5003"]["total"] == "0"


def test_helpers():
    assert [fmt_points(x) for x in (100.0, 33.333333, 2.50, -0.0, None)] == ["100", "33.3333", "2.5", "0", ""]
    assert safe_text("=1+1") == "'=1+1" and safe_text("-2") == "'-2" and safe_text("ok") == "ok"
    assert safe_text(HOSTILE) == HOSTILE
    assert Scale(100).grade(dataclasses.replace(_any_score(), score=55.0, max_score=110.0)) == 50.0


def _any_score():
    with open_gradebook("sqlite://") as gb:
        gb.record(make_result("x"), "x", at(0))
        return gb.counted_scores(HW, Policy())[0]


def test_duplicate_students_are_reported_not_exported(tmp_path, scores):
    doubled = list(scores) + [scores[0]]
    by, duplicates = index_scores(doubled)
    assert scores[0].student not in by and duplicates == [scores[0].student]
    out = tmp_path / "m.csv"
    report = write_moodle(out, doubled, "HW5", scale=Scale(100))
    assert report.skipped == [f"{scores[0].student}: listed more than once in the grades"]
    assert scores[0].student not in out.read_text(encoding="utf-8")

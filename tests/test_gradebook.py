"""Gradebook: recording, idempotency, policies, manual grades, concurrency, portability."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sqlite3

import pytest
from results_factory import at, make_result, sha_of
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from autograder.course.gradebook import Base, Policy, open_gradebook
from autograder.grading.result import Result

HW = "hw5_cnn"
PG_URL = os.environ.get("INTRO2AI_TEST_PG_URL")  # e.g. postgresql+psycopg://user@host/db (emptied!)


@pytest.fixture
def gb(tmp_path):
    book = open_gradebook(tmp_path / "sub" / "grades.db")
    yield book
    book.close()


def test_record_stores_everything_and_is_idempotent(gb, tmp_path):
    doc = make_result("s1", passed={"Q1": 2}, seed=77)
    first = gb.record(doc, "s1", at(0))
    assert gb.record(doc, "s1", at(0)) == first
    assert gb.find_attempt("s1", HW, doc["sha256"], "2026.1", 77) == first
    assert gb.find_attempt("s1", HW, doc["sha256"], "2026.1", 78) is None
    assert gb.find_attempt("s1", HW, doc["sha256"], "2026.2", 77) is None
    [view] = gb.attempts(HW)
    assert (view.student, view.seed, view.data, view.status) == ("s1", 77, "embedded", "graded")
    assert view.score == pytest.approx(doc["score"]) and view.max_score == 100.0
    assert view.submitted_at == at(0)
    assert view.graded_at == at(0) + dt.timedelta(seconds=3.2)
    assert [q.id for q in view.questions] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert view.questions[0].score == pytest.approx(5.0) and view.questions[0].status == "partial"
    assert gb.result(first) == {**Result.from_json(doc).to_json(), "student": "s1"}  # stored as schema 2
    with sqlite3.connect(tmp_path / "sub" / "grades.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_content_new_seed_or_version_is_a_new_attempt(gb):
    doc = make_result("s1")
    ids = {gb.record(doc, "s1"), gb.record({**doc, "seed": 5}, "s1"),
           gb.record({**doc, "assignment_version": "2026.2"}, "s1"), gb.record(doc, "s2")}
    assert len(ids) == 4 and len(gb.attempts()) == 4


def test_record_rejects_naive_times_and_empty_student(gb):
    with pytest.raises(ValueError, match="naive"):
        gb.record(make_result("s1"), "s1", dt.datetime(2026, 11, 25, 14, 0))
    with pytest.raises(ValueError, match="student"):
        gb.record(make_result("s1"), " ")
    assert gb.attempts() == []


def test_ungradable_and_nan_values_are_stored(gb):
    doc = make_result("s1", ungradable="no layers.py in the zip: put it at the top level")
    doc["duration_s"] = float("nan")
    attempt = gb.record(doc, "s1")
    stored = gb.result(attempt)
    assert stored["status"] == "ungradable" and stored["duration_s"] is None
    [row] = gb.counted_scores(HW)
    assert (row.status, row.score, row.max_score) == ("ungradable", 0.0, 105.0)


def test_latest_and_best(gb):
    gb.record(make_result("s1", passed={"Q5": 0}), "s1", at(0))   # 60 points
    gb.record(make_result("s1"), "s1", at(0, 1))                    # 100 points
    gb.record(make_result("s1", passed={"Q1": 0}), "s1", at(0, 2))  # 85 points, latest
    [latest] = gb.counted_scores(HW, Policy("latest"))
    [best] = gb.counted_scores(HW, Policy("best"))
    assert (latest.score, latest.attempts) == (85.0, 3)
    assert best.score == 100.0 and best.submitted_at == at(0, 1)
    assert latest.result.counted.score == 85.0


def test_late_penalty_counts_days_started(gb):
    due = at(1)
    gb.record(make_result("early"), "early", due)
    gb.record(make_result("second"), "second", due + dt.timedelta(seconds=1))
    gb.record(make_result("two"), "two", due + dt.timedelta(days=1, hours=3))
    gb.record(make_result("unknown"), "unknown", None)
    rows = {r.student: r for r in gb.counted_scores(HW, Policy(due=due, penalty_per_day=0.1))}
    assert (rows["early"].days_late, rows["early"].score) == (0, 100.0)
    assert (rows["second"].days_late, rows["second"].score) == (1, 90.0)
    assert (rows["two"].days_late, rows["two"].score) == (2, 80.0)
    assert rows["unknown"].score == 100.0
    assert "no submission time: late policy not applied" in rows["unknown"].notes
    floor = gb.counted_scores(HW, Policy(due=due, penalty_per_day=0.6))
    assert {r.student: r.score for r in floor}["two"] == 0.0


def test_best_weighs_the_late_penalty(gb):
    due = at(1)
    gb.record(make_result("s1", passed={"Q1": 0}), "s1", due)       # 85 on time
    gb.record(make_result("s1"), "s1", due + dt.timedelta(days=2))  # 100 * 0.8 = 80
    [row] = gb.counted_scores(HW, Policy("best", due=due, penalty_per_day=0.1))
    assert row.score == 85.0 and row.days_late == 0


def test_cutoff_excludes_attempts(gb):
    due, cutoff = at(1), at(3)
    gb.record(make_result("s1", passed={"Q5": 0}), "s1", at(2))  # 60, 1 day late
    gb.record(make_result("s1"), "s1", at(4))                     # after cutoff
    gb.record(make_result("s2"), "s2", at(5))                     # only after cutoff
    policy = Policy("latest", due=due, penalty_per_day=0.25, cutoff=cutoff)
    rows = {r.student: r for r in gb.counted_scores(HW, policy)}
    assert rows["s1"].score == 45.0 and rows["s1"].attempts == 2
    assert (rows["s2"].status, rows["s2"].score, rows["s2"].attempt_id) == ("after_cutoff", 0.0, None)
    assert rows["s2"].max_score == 105.0
    with pytest.raises(ValueError, match="cutoff"):
        Policy(due=cutoff, cutoff=due)


def test_manual_items_and_question_overrides(gb):
    gb.record(make_result("s1", passed={"Q3": 0}), "s1", at(0))
    gb.set_manual("s1", HW, "written_answers", 4.5, "clear derivation", "ta.kim")
    gb.set_manual("s1", HW, "Q3", 8.0, "judge was too strict on ties", "prof")
    gb.set_manual("s1", HW, "Q1", None, "nice vectorisation", "ta.kim")
    [row] = gb.counted_scores(HW)
    assert row.auto_score == 98.0 and row.manual_score == 4.5 and row.score == 102.5
    assert row.max_score == 105.0
    q3 = row.result.questions[2]
    assert q3.score == 8.0 and q3.override.original == 0.0
    assert row.result.questions[0].override.comment == "nice vectorisation"
    written = row.result.manual[0]
    assert (written.score, written.grader) == (4.5, "ta.kim")
    assert any("Q3 set to 8" in n for n in row.notes)
    [m1, m2, m3] = gb.manual_grades(HW)
    assert {m1.item_id, m2.item_id, m3.item_id} == {"Q1", "Q3", "written_answers"}
    gb.set_manual("s1", HW, "written_answers", 5.0, None, "prof")
    assert {m.item_id: (m.score, m.grader) for m in gb.manual_grades(HW)}["written_answers"] == (5.0, "prof")


@pytest.mark.parametrize("args, match", [
    (("ghost", HW, "written_answers", 1.0), "unknown student"),
    (("s1", HW, "essay", 1.0), "unknown item"),
    (("s1", HW, "written_answers", 5.5), "outside"),
    (("s1", HW, "Q1", -1.0), "outside"),
])
def test_set_manual_rejects(gb, args, match):
    gb.record(make_result("s1"), "s1")
    with pytest.raises(ValueError, match=match):
        gb.set_manual(*args, None, "ta")
    assert gb.manual_grades(HW) == []


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_manual_csv_applies_all(gb, tmp_path):
    for s in ("s1", "s2"):
        gb.record(make_result(s), s)
    csv_path = _write(tmp_path / "m.csv", "\ufeffstudent,item,score,comment\n"
                      "s1,written_answers,3,\"ok, but terse\"\ns2,written_answers,5,\ns2,Q1,12,\"-3: loops\"\n")
    report = gb.import_manual_csv(csv_path, HW, "ta.lee")
    assert report.ok and report.applied == 3
    rows = {r.student: r for r in gb.counted_scores(HW)}
    assert rows["s1"].score == 103.0 and rows["s2"].score == 102.0
    assert rows["s1"].manual[0].comment == "ok, but terse"


def test_manual_csv_is_all_or_nothing(gb, tmp_path):
    gb.record(make_result("s1"), "s1")
    gb.set_manual("s1", HW, "written_answers", 2.0, "before", "ta")
    bad = _write(tmp_path / "bad.csv", "student,item,score,comment\n"
                 "s1,written_answers,4,fine\n"      # line 2: valid
                 "nobody,written_answers,1,\n"      # line 3: unknown student
                 "s1,essay,1,\n"                    # line 4: unknown item
                 "s1,Q2,25,\n"                      # line 5: over max
                 "s1,Q3,ten,\n"                     # line 6: not a number
                 "s1,written_answers,1,\n")         # line 7: duplicate
    report = gb.import_manual_csv(bad, HW, "ta")
    assert not report.ok and report.applied == 0
    text = "\n".join(report.errors)
    assert [e.split(":")[0] for e in report.errors] == [f"line {n}" for n in (3, 4, 5, 6, 7)]
    for fragment in ("line 6: score 'ten'", "line 7: 's1'/'written_answers' already given on line 2",
                     "line 3: unknown student 'nobody'", "line 4: unknown item 'essay'",
                     "line 5: score 25 for 'Q2' is outside 0..20"):
        assert fragment in text
    assert [(m.score, m.comment) for m in gb.manual_grades(HW)] == [(2.0, "before")]
    missing = gb.import_manual_csv(_write(tmp_path / "h.csv", "who,item,score\n"), HW, "ta")
    assert missing.errors == ["line 1: missing column(s) student"]


def _record_many(path: str, worker: int, shared: int, own: int) -> None:
    book = open_gradebook(path)
    try:
        students = [f"shared{i}" for i in range(shared)] + [f"w{worker}_{i}" for i in range(own)]
        for s in students[worker:] + students[:worker]:  # different orders collide more
            book.record(make_result(s), s, at(0))
    finally:
        book.close()


@pytest.fixture(params=["sqlite-file", "postgresql"])
def url(request, tmp_path):
    """A fresh database: an SQLite file, or the PostgreSQL test URL (its tables dropped after)."""
    if request.param == "sqlite-file":
        yield str(tmp_path / "race.db")
        return
    if not PG_URL:
        pytest.skip("set INTRO2AI_TEST_PG_URL to test PostgreSQL")
    with open_gradebook(PG_URL) as book:
        Base.metadata.drop_all(book.engine)
    yield PG_URL
    with open_gradebook(PG_URL) as book:
        Base.metadata.drop_all(book.engine)


def test_concurrent_processes_lose_and_duplicate_nothing(url):
    workers, shared, own = 4, 8, 5
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_record_many, args=(url, w, shared, own)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    with open_gradebook(url) as book:
        views = book.attempts()
        assert len(views) == shared + workers * own
        assert len({(v.student, v.sha256) for v in views}) == len(views)
        assert all(len(v.questions) == 5 for v in views)
        assert all(v.sha256 == sha_of(f"{v.student}/2026.1/[]/[]") for v in views)


def test_full_round_trip_on_a_url(url, tmp_path):
    """Everything the CLI does, through a URL: record, dedupe, manual CSV, policies, JSON back."""
    url = f"sqlite:///{url}" if "://" not in url else url
    with open_gradebook(url) as book:
        doc = make_result("s1", passed={"Q2": 1})
        first = book.record(doc, "s1", at(2))
        assert book.record(doc, "s1", at(2)) == first
        book.record(make_result("s1"), "s1", at(5))
        csv_path = tmp_path / "manual.csv"
        csv_path.write_text("student,item,score,comment\ns1,written_answers,5,전부 맞음\n", encoding="utf-8")
        assert book.import_manual_csv(csv_path, HW, "ta").applied == 1
        [row] = book.counted_scores(HW, Policy("best", due=at(1), penalty_per_day=0.1, cutoff=at(4)))
        assert (row.attempt_id, row.days_late, row.score) == (first, 1, pytest.approx((doc["score"] + 5) * 0.9))
        assert row.manual[0].comment == "전부 맞음" and book.result(first) == {**Result.from_json(doc).to_json(), "student": "s1"}
        assert book.attempts()[0].submitted_at == at(2)
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_schema_compiles_for_postgresql():
    ddl = "\n".join(str(CreateTable(t).compile(dialect=postgresql.dialect()))
                    for t in Base.metadata.sorted_tables)
    assert "JSON" in ddl and "TIMESTAMP WITHOUT TIME ZONE" in ddl
    assert "CONSTRAINT uq_attempt_identity UNIQUE (student, assignment, sha256, assignment_version, seed)" in ddl

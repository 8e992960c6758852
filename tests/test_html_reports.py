"""HTML pages: content, escaping of student strings, self-containment, and a headless Chromium load."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from results_factory import HOSTILE, at, make_result

from autograder.assignment import Visibility, load_assignment
from autograder.course.gradebook import Policy, open_gradebook
from autograder.grading.result import Result
from autograder.reports.html import (
    MAX_CURVE_POINTS,
    curve,
    render_class_summary,
    render_feedback,
    write_class_summary,
    write_feedback_pages,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (apt-get install chromium)")
VISIBLE = Visibility(hidden_inputs="visible", stdout="visible").shown()


def _attrs(html: str, name: str) -> list[str]:
    return re.findall(rf'\b{name}="([^"]*)"', html)


def test_feedback_shows_verdicts_errors_and_manual_items():
    doc = make_result("s7", passed={"Q1": 4}, errors={"Q3": "timeout"}, notebook_html="notebooks/s7.html")
    html = render_feedback(Result.from_json(doc), VISIBLE, load_assignment("hw5_cnn").curves)
    assert 'id="total-score">85 / 100<' in html
    assert "Q1 · conv_forward_naive" in html and "<b>10</b> / 15" in html
    assert "rel_error = 3e-09" in html and "rel_error = 0.41" in html and "1e-07" in html
    assert html.count('class="badge info">hidden<') == 5 + 5 + 5 + 2  # Q3 timed out: no cases
    assert "time limit of 20 s exceeded" in html
    assert "Written answers" in html and "not graded yet / 5" in html
    assert _attrs(html, "href") == ["notebooks/s7.html"]
    assert html.count("<polyline") == 4  # loss + accuracy for each public Q5 case
    assert "held_out_accuracy" in html


def test_feedback_escapes_every_student_string():
    html = render_feedback(Result.from_json(make_result("s1", hostile=True)), VISIBLE)
    assert "<script" not in html and "<b>x</b>" not in html
    escaped = "&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;&#34;&#39;&amp;&lt;b&gt;x&lt;/b&gt;"
    assert html.count(escaped) >= 6  # message, submission, ignored file, question, case name and message
    assert "default-src 'none'" in html  # no script would run even if escaping failed


def test_pages_load_nothing_from_outside():
    doc = make_result("s1", notebook_html="https://lms.example/nb.html")
    for html in (render_feedback(Result.from_json(doc), VISIBLE), render_class_summary([Result.from_json(d) for d in [doc]])):
        assert _attrs(html, "src") == [] and "<link" not in html and "<script" not in html
        assert "@import" not in html and "url(" not in html


def test_notebook_link_refuses_script_urls():
    html = render_feedback(Result.from_json(make_result("s1", notebook_html="javascript:alert(document.cookie)")), VISIBLE)
    assert _attrs(html, "href") == []
    assert "javascript:alert(document.cookie)" in html  # shown as text only


def test_hidden_cases_never_show_expected_values():
    doc = make_result("s1")
    q5 = doc["questions"][4]
    q5["cases"][2]["extras"] = {"expected_accuracy": 0.987654, "secret_target": 0.876543}
    q5["cases"][0]["extras"]["expected_out"] = 0.765432
    html = render_feedback(Result.from_json(doc), VISIBLE)
    for secret in ("0.988", "0.877", "0.765", "expected_accuracy", "secret_target", "expected_out"):
        assert secret not in html
    assert '&#34;seed&#34;: 90210' in html  # hidden parameters are shown


HIDDEN_PARAMS = "&#34;seed&#34;: 90210"  # a hidden case's parameters as the page escapes them
PUBLIC_PARAMS = "&#34;x_shape&#34;: [2, 3, 4, 4]"
DUE = at(7)


def test_hidden_inputs_absent_under_hidden_present_under_visible():
    doc = make_result("s1")
    hidden = render_feedback(Result.from_json(doc), Visibility(hidden_inputs="hidden", stdout="hidden").shown())
    assert HIDDEN_PARAMS not in hidden and "90210" not in hidden and "[2, 3, 7, 7]" not in hidden
    assert "seed 1234" not in hidden and "seed withheld" in hidden
    assert PUBLIC_PARAMS in hidden and hidden.count(">withheld<") == 22  # one cell per hidden case
    assert "iteration 1 / 10" not in hidden and "Inputs of hidden cases are not shown." in hidden
    visible = render_feedback(Result.from_json(doc), VISIBLE)
    assert HIDDEN_PARAMS in visible and "seed 1234" in visible and "iteration 1 / 10" in visible
    assert 'id="visibility"' not in visible


@pytest.mark.parametrize("level, due, published, now, shown", [
    ("after_due_date", DUE, False, at(6), False),
    ("after_due_date", DUE, False, at(8), True),
    ("after_due_date", None, True, at(8), False),  # no due date anywhere: stays hidden
    ("after_published", DUE, False, at(8), False),
    ("after_published", None, True, at(0), True),
])  # fmt: skip
def test_hidden_inputs_follow_the_due_date_and_publication(level, due, published, now, shown):
    policy = Visibility(hidden_inputs=level).shown(due, published, now)
    html = render_feedback(Result.from_json(make_result("s1")), policy)
    assert (HIDDEN_PARAMS in html) is shown and ("seed 1234" in html) is shown
    if level == "after_due_date" and due and not shown:
        assert f"they will be shown after the due date ({DUE.isoformat()})" in html


def test_visibility_table_due_date_and_bad_levels():
    table_due = Visibility(hidden_inputs="after_due_date", due=DUE)
    assert table_due.shown(now=at(8)).hidden_inputs and not table_due.shown(now=at(6)).hidden_inputs
    assert table_due.shown(due=at(9), now=at(8)).hidden_inputs is False  # --due overrides the table
    with pytest.raises(ValueError, match="use one of visible, after_due_date, after_published, hidden"):
        Visibility(hidden_inputs="students")
    with pytest.raises(ValueError, match="timezone"):
        Visibility(due=DUE.replace(tzinfo=None))


def test_counted_feedback_shows_policy_manual_grades_and_overrides(tmp_path):
    with open_gradebook(tmp_path / "g.db") as gb:
        gb.record(make_result("s1", passed={"Q3": 0}), "s1", at(2))
        gb.set_manual("s1", "hw5_cnn", "written_answers", 4.0, "<i>good</i> derivation", "ta.kim")
        gb.set_manual("s1", "hw5_cnn", "Q3", 6.0, "ties handled", "prof")
        [row] = gb.counted_scores("hw5_cnn", Policy(due=at(1), penalty_per_day=0.1))
    html = render_feedback(row.result, VISIBLE)
    assert row.score == 90.0
    assert 'id="total-score">90 / 105<' in html
    assert "1 day(s) late × 0.9" in html and "auto 96 + manual 4" in html
    assert "Grader prof set the score to 6 (engine: 0): ties handled" in html
    assert "&lt;i&gt;good&lt;/i&gt; derivation" in html and "— ta.kim" in html


def test_curve_drops_non_finite_values_and_thins_long_histories():
    c = curve("loss", [1.0, float("nan"), 0.5, float("inf"), 0.25])
    assert c.n == 3 and len(c.points.split()) == 3 and (c.y_min, c.y_max) == (0.25, 1.0)
    long = curve("loss", [float(i) for i in range(2000)])
    assert long.n == 2000 and len(long.points.split()) <= MAX_CURVE_POINTS
    assert curve("loss", [1.0]) is None and curve("loss", "1,2") is None


def _class() -> list[dict]:
    return [make_result("a"),                                              # 100
            make_result("b", passed={"Q5": 0}, duration_s=50.0),           # 60
            make_result("c", errors={"Q3": "timeout"}, duration_s=20.5),   # 90
            make_result("d", errors={"Q3": "timeout", "Q4": "error"}),     # 75
            make_result("e", ungradable="no layers.py in the zip", duration_s=0.1)]


def test_class_summary_numbers():
    html = render_class_summary([Result.from_json(d) for d in _class()])
    assert 'id="n-submissions">5<' in html and 'id="n-graded">4 / 1<' in html
    assert 'id="mean">65.0%<' in html and 'id="median">75.0%<' in html
    bars = dict(re.findall(r"<title>([\d–]+)%: (\d+)</title>", html))
    assert bars == {"0–10": "1", "10–20": "0", "20–30": "0", "30–40": "0", "40–50": "0",
                    "50–60": "0", "60–70": "1", "70–80": "1", "80–90": "0", "90–100": "2"}
    rates = re.findall(r"<tr><td>(Q\d) · [^<]*</td><td class=\"num\">(\d+) / (\d+)</td>"
                       r"<td class=\"num\">(\d+)%</td>", html)
    assert rates == [("Q1", "4", "4", "100"), ("Q2", "4", "4", "100"), ("Q3", "2", "4", "50"),
                     ("Q4", "3", "4", "75"), ("Q5", "3", "4", "75")]
    failures = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td class=\"num\">(\d+)</td></tr>", html)
    assert failures[0] == ("Q3", "time limit of 20 s exceeded: look for an infinite loop", "2")
    assert ("(ungradable)", "no layers.py in the zip", "1") in failures
    slowest = re.findall(r'<tr><td>([a-e])</td>', html.split('id="slowest"')[1])
    assert slowest == ["b", "c", "a", "d", "e"]


def test_a_grader_fault_is_no_grade_never_a_zero():
    """#18: a result whose status is not one the gradebook scores (here `error`) shows no score."""
    fault = {**make_result("f", errors={"Q1": "error"}), "status": "error", "score": 0.0,
             "message": "the grader failed; this is not your fault"}
    page = render_feedback(Result.from_json(fault), VISIBLE)
    assert 'id="total-score">— / 100<' in page
    summary = render_class_summary([Result.from_json(d) for d in _class() + [fault]])
    assert 'id="n-no-grade">1<' in summary and 'id="mean">65.0%<' in summary  # as without it
    assert "no grade" in summary.split('id="slowest"')[1]


def test_class_summary_escapes_and_handles_no_results():
    html = render_class_summary([Result.from_json(d) for d in [make_result("<b>x</b>", hostile=True, errors={"Q2": "error"})]])
    assert "<script" not in html and "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    empty = render_class_summary([Result.from_json(d) for d in []])
    assert 'id="n-submissions">0<' in empty and 'id="mean">—<' in empty


def test_writers_keep_hostile_ids_inside_the_folder(tmp_path):
    docs = [make_result("../../escape"), make_result("김민지"), make_result(None, sha256="f" * 64)]
    paths = write_feedback_pages([Result.from_json(d) for d in docs], tmp_path / "pages", VISIBLE)
    assert [p.name for p in paths] == [f"escape-{docs[0]['sha256'][:8]}.html",
                                       f"김민지-{docs[1]['sha256'][:8]}.html", "unknown-ffffffff.html"]
    assert all(p.parent == tmp_path / "pages" and p.is_file() for p in paths)
    summary = write_class_summary([Result.from_json(d) for d in docs], tmp_path / "pages" / "index.html")
    assert 'id="n-submissions">3<' in summary.read_text(encoding="utf-8")


def _chromium(page, tmp_path) -> tuple[str, list[str]]:
    """Load a file:// page headless; returns the rendered DOM and the console lines."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
           "--dump-dom", page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, [line for line in proc.stderr.splitlines()
                         if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.chromium
@needs_chromium
def test_chromium_console_check_catches_errors(tmp_path):
    page = tmp_path / "control.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>missingFunction()</script>", encoding="utf-8")
    _, console = _chromium(page, tmp_path)
    assert any("Uncaught ReferenceError" in line for line in console)


@pytest.mark.chromium
@needs_chromium
def test_chromium_renders_feedback_page(tmp_path):
    doc = make_result("s9", passed={"Q1": 4}, hostile=True, notebook_html="nb/s9.html")
    [page] = write_feedback_pages([Result.from_json(d) for d in [doc]], tmp_path, VISIBLE, load_assignment("hw5_cnn").curves)
    dom, console = _chromium(page, tmp_path)
    assert console == []
    assert 'id="total-score">95 / 100<' in dom and "rel_error = 0.41" in dom and "<polyline" in dom
    assert 'id="notebook-link"' in dom
    assert "data-pwned" not in re.search(r"<body[^>]*>", dom).group(0)
    assert "&lt;script&gt;document.body.setAttribute" in dom


@pytest.mark.chromium
@needs_chromium
def test_chromium_renders_class_summary(tmp_path):
    page = write_class_summary([Result.from_json(d) for d in _class() + [make_result("z", hostile=True)]], tmp_path / "summary.html")
    dom, console = _chromium(page, tmp_path)
    assert console == []
    assert 'id="n-submissions">6<' in dom and 'id="mean">70.8%<' in dom
    assert "time limit of 20 s exceeded" in dom and HOSTILE not in dom

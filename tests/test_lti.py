"""LTI 1.3 AGS publishing against a spec-faithful platform on loopback (tests/lti_platform.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import stat

import jwt
import pytest
import requests
from click.testing import CliRunner
from grading_helpers import cli_args
from lti_platform import (
    COURSE,
    LINEITEM_SCOPE,
    NOT_A_STUDENT,
    SCORE_SCOPE,
    SCORE_TYPE,
    FakePlatform,
    Fault,
)
from results_factory import at, make_result
from urllib3.util.retry import Retry

from autograder.cli import main
from autograder.course.gradebook import Policy, PublishedView, open_gradebook
from autograder.course.roster import lti_user_ids
from autograder.reports.lti.ags import AgsClient, HttpSettings, client_assertion
from autograder.reports.lti.keys import ensure_key, load_key
from autograder.reports.lti.platform import read_platform
from autograder.reports.lti.publish import TAG, plan_scores, publish

HW = "hw5_cnn"
LTI = {"s1": "lti-aaa1", "s2": "lti-bbb2", "s3": "lti-ccc3", "s4": "lti-ddd4", "s5": "lti-eee5",
       "s7": "lti-ggg7"}


@pytest.fixture
def key_dir(tmp_path):
    folder = tmp_path / "keys"
    ensure_key(folder)
    return folder


@pytest.fixture
def course(tmp_path):
    """A class: full marks, partial, ungradable, grader fault, late, manual item still ungraded."""
    path = tmp_path / "grades.sqlite"
    with open_gradebook(path) as gb:
        gb.record(make_result("s1"), "s1", at(0))
        gb.record(make_result("s2", passed={"Q1": 3}), "s2", at(0))
        gb.record(make_result("s3", ungradable="no layers.py in the zip"), "s3", at(0))
        gb.record_fault("s4", HW, "f" * 64, "the sandbox could not start")  # a fault is never an attempt
        gb.record(make_result("s5"), "s5", at(2, 3))
        gb.record(make_result("s7"), "s7", at(0))
        for student in ("s1", "s2", "s3", "s5"):
            gb.set_manual(student, HW, "written_answers", 4.0, "clear answers", "kim")
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,LTI User ID\n" + "".join(f"{s},Student {s},{i}\n" for s, i in LTI.items()),
                      encoding="utf-8")
    return path, roster


@pytest.fixture
def platform(key_dir, tmp_path):
    with FakePlatform(load_key(key_dir).public_jwk(), students=set(LTI.values()) - {"lti-ccc3"}) as fake:
        (tmp_path / "platform.toml").write_text(fake.platform_toml(), encoding="utf-8")
        yield fake


def run(*args):
    result = CliRunner().invoke(main, cli_args(*args))
    assert "Traceback" not in result.output, result.output
    return result


def publish_cli(tmp_path, course, key_dir, *extra):
    gradebook, roster = course
    return run("lti", "publish", "--platform", tmp_path / "platform.toml", "--roster", roster,
               "--gradebook", gradebook, "--key-dir", key_dir, "--due", "2026-11-26T14:00+00:00",
               "--penalty-per-day", "0.1", "--timeout", "5", "--retries", "2", *extra)


def table(result) -> dict[str, str]:
    """Student -> the outcome column of the printed table."""
    rows = {}
    for line in result.stdout.splitlines()[1:]:
        cells = line.split()
        if cells and re.fullmatch(r"s\d+", cells[0]):
            rows[cells[0]] = next(c for c in cells if c in ("sent", "unchanged", "skipped", "failed", "would"))
    return rows


# ---------------------------------------------------------------- registration


def test_keys_are_private_reused_and_printed_as_jwks(tmp_path):
    folder = tmp_path / "k"
    first = run("lti", "keys", "--key-dir", folder)
    assert first.exit_code == 0, first.output
    jwks = json.loads(first.stdout)
    [jwk] = jwks["keys"]
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "RS256", "sig") and "d" not in jwk
    private = folder / "lti-tool-private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert "created private key" in first.stderr
    again = run("lti", "keys", "--key-dir", folder, "--format", "jwk")
    assert json.loads(again.stdout) == jwk and "existing private key" in again.stderr
    pem = run("lti", "keys", "--key-dir", folder, "--format", "pem").stdout
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in pem
    assert json.loads((folder / "jwks.json").read_text()) == jwks
    private.chmod(0o644)
    refused = run("lti", "keys", "--key-dir", folder)
    assert refused.exit_code == 1 and "chmod 600" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_keys_are_refused_inside_a_repository(tmp_path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    result = run("lti", "keys", "--key-dir", tmp_path / "repo" / "secrets")
    assert result.exit_code == 1 and "inside the git work tree" in result.stderr
    assert not (tmp_path / "repo" / "secrets").exists()


def test_platform_file_names_every_problem_on_its_own_line(tmp_path, key_dir):
    bad = tmp_path / "bad.toml"
    bad.write_text('issuer = "https://canvas.instructure.com"\nclient_id = 42\ndeployment_id = ""\n'
                   'jwks_url = "ftp://lms.example.edu/jwks"\n'
                   'lineitems_url = "http://lms.example.edu/api/lti/courses/1/line_items"\n'
                   'secret = "x"\n', encoding="utf-8")
    result = run("lti", "check", bad, "--key-dir", key_dir)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 7, result.stderr
    for needle in ("unknown field 'secret'", "client_id must be a non-empty string", "deployment_id must be",
                   "token_url is missing", "jwks_url 'ftp://", "lineitems_url 'http://lms.example.edu"):
        assert sum(needle in line for line in lines) == 1, (needle, lines)
    assert "must use https://" in result.stderr and "fix the 6 problem(s) above" in lines[-1]
    bad.write_text("issuer = [", encoding="utf-8")
    broken = run("lti", "check", bad, "--key-dir", key_dir)
    assert broken.exit_code == 1 and "not valid TOML" in broken.stderr


def test_check_fetches_the_platform_keys_and_a_token(tmp_path, key_dir, platform):
    result = run("lti", "check", tmp_path / "platform.toml", "--key-dir", key_dir)
    assert result.exit_code == 0, result.output
    assert "ok (1 platform key(s)" in result.stdout
    assert len(platform.used_jti) == 1 and platform.score_posts == [] and platform.line_items == []


def test_a_wrong_key_is_refused_with_a_clear_message(tmp_path, course, platform):
    other = tmp_path / "other-keys"
    key, _ = ensure_key(other)
    result = publish_cli(tmp_path, course, other)
    assert result.exit_code == 1
    [line] = [w for w in result.stderr.strip().splitlines() if not w.startswith("warning:")]
    assert "refused the tool's token request (HTTP 401 invalid_client" in line
    assert key.kid in line and platform.client_id in line and "grade lti keys" in line
    assert platform.line_items == [] and platform.score_posts == []
    with open_gradebook(course[0]) as gb:
        assert gb.published(f"{platform.base}{COURSE}/1") == {}


# ---------------------------------------------------------------- publishing


def test_publishing_twice_sends_each_score_once_and_makes_one_column(tmp_path, course, key_dir, platform):
    first = publish_cli(tmp_path, course, key_dir)
    assert first.exit_code == 0, first.output
    assert table(first) == {"s1": "sent", "s2": "sent", "s3": "skipped", "s5": "sent",
                            "s7": "skipped"}
    assert "ungradable, which is not a grade" in first.stdout and "lti-ddd4" not in str(platform.score_posts)
    assert "written_answers not graded yet" in first.stdout
    [item] = platform.line_items
    assert (item["resourceId"], item["tag"], item["scoreMaximum"]) == (HW, TAG, 105.0)
    assert "line item created" in first.stdout
    by_user = {p["userId"]: p for p in platform.score_posts}
    assert sorted(by_user) == ["lti-aaa1", "lti-bbb2", "lti-eee5"] and len(platform.score_posts) == 3
    s1, s2, s5 = by_user["lti-aaa1"], by_user["lti-bbb2"], by_user["lti-eee5"]
    assert (s1["scoreGiven"], s1["scoreMaximum"]) == (104.0, 105.0)                    # 100 + manual 4
    assert s2["scoreGiven"] == pytest.approx(104.0 - 15.0 * 3 / 6)                    # half of Q1 lost
    assert s5["scoreGiven"] == pytest.approx(104.0 * 0.8)                             # 2 days late
    assert (s1["activityProgress"], s1["gradingProgress"]) == ("Completed", "FullyGraded")
    assert "Q1 7.5/15 partial" in s2["comment"] and "written_answers 4/5: clear answers" in s2["comment"]

    second = publish_cli(tmp_path, course, key_dir)
    assert second.exit_code == 0, second.output
    assert table(second) == {**table(first), "s1": "unchanged", "s2": "unchanged", "s5": "unchanged"}
    assert len(platform.line_items) == 1 and len(platform.score_posts) == 3
    assert "line item found" in second.stdout

    with open_gradebook(course[0]) as gb:
        gb.set_manual("s7", HW, "written_answers", 5.0, None, "kim")
        gb.set_manual("s2", HW, "Q1", 15.0, "regraded", "kim")
    third = publish_cli(tmp_path, course, key_dir)
    assert third.exit_code == 0, third.output
    assert (table(third)["s2"], table(third)["s7"], table(third)["s1"]) == ("sent", "sent", "unchanged")
    assert [p["userId"] for p in platform.score_posts[3:]] == ["lti-bbb2", "lti-ggg7"]
    assert platform.posts_for("lti-bbb2")[-1]["scoreGiven"] == 104.0
    with open_gradebook(course[0]) as gb:
        sent = gb.published(item["id"])
    assert sorted(sent) == ["s1", "s2", "s5", "s7"] and sent["s2"].score == 104.0


def test_an_existing_column_is_found_across_pages_not_duplicated(tmp_path, course, key_dir, platform):
    for n in range(3):
        platform.add_line_item(f"other {n}", 10, f"hw{n}", TAG)
    platform.add_line_item("HW5 made last term", 105, HW, TAG)
    result = publish_cli(tmp_path, course, key_dir)
    assert result.exit_code == 0, result.output
    assert len(platform.line_items) == 4 and "line item found" in result.stdout
    assert {p["userId"] for p in platform.score_posts} == {"lti-aaa1", "lti-bbb2", "lti-eee5"}
    assert all((n, u) in platform.scores for n, u in [(4, "lti-aaa1"), (4, "lti-bbb2")])


def test_dry_run_creates_and_sends_nothing(tmp_path, course, key_dir, platform):
    dry = publish_cli(tmp_path, course, key_dir, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert table(dry)["s1"] == "would" and "none yet (a real run creates it)" in dry.stdout
    assert platform.line_items == [] and platform.score_posts == []
    publish_cli(tmp_path, course, key_dir)
    after = publish_cli(tmp_path, course, key_dir, "--dry-run")
    assert table(after)["s1"] == "unchanged" and len(platform.score_posts) == 3


def test_a_partial_failure_is_resumed_by_the_next_run(tmp_path, course, key_dir, platform):
    platform.faults.append(Fault("POST", "/scores", status=500, times=3))  # one post and its 2 retries
    first = publish_cli(tmp_path, course, key_dir)
    assert first.exit_code == 1
    assert table(first) == {"s1": "failed", "s2": "sent", "s3": "skipped", "s5": "sent",
                            "s7": "skipped"}
    assert "HTTP 500 after retries" in first.stdout
    assert "1 of 5 score(s) not sent" in first.stderr and "rerun the same command" in first.stderr
    resumed = publish_cli(tmp_path, course, key_dir)
    assert resumed.exit_code == 0, resumed.output
    assert table(resumed)["s1"] == "sent" and table(resumed)["s2"] == "unchanged"
    assert [p["userId"] for p in platform.score_posts] == ["lti-bbb2", "lti-eee5", "lti-aaa1"]


def test_a_user_who_is_not_a_student_fails_alone(tmp_path, course, key_dir, platform):
    gradebook, roster = course
    with open_gradebook(gradebook) as gb:
        gb.record(make_result("s6"), "s6", at(0))
        gb.set_manual("s6", HW, "written_answers", 5.0, None, "kim")
    roster.write_text(roster.read_text() + "s6,Auditor,lti-fff6\n", encoding="utf-8")
    result = publish_cli(tmp_path, course, key_dir)
    assert result.exit_code == 1
    assert table(result)["s6"] == "failed" and table(result)["s1"] == "sent"
    assert NOT_A_STUDENT in result.stdout and "HTTP 422" in result.stdout


def test_missing_roster_column_is_one_line(tmp_path, course, key_dir, platform):
    course[1].write_text("student,name\ns1,A\n", encoding="utf-8")
    result = publish_cli(tmp_path, course, key_dir)
    assert result.exit_code == 1 and "roster lacks column(s) LTI User ID" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_after_cutoff_is_never_published_as_zero(tmp_path, course, key_dir, platform):
    result = publish_cli(tmp_path, course, key_dir, "--cutoff", "2026-11-27T00:00+00:00")
    assert result.exit_code == 0, result.output
    assert table(result)["s5"] == "skipped" and "after_cutoff" in result.stdout
    assert platform.posts_for("lti-eee5") == []


# ---------------------------------------------------------------- the protocol under faults (library API)


def _client(tmp_path, key_dir, timeout=5.0) -> AgsClient:
    platform = read_platform(tmp_path / "platform.toml")
    client = AgsClient(platform, load_key(key_dir), HttpSettings(timeout_s=timeout, retries=3, backoff_s=0.01))
    client.connect()
    return client


def _publish(tmp_path, course, client):
    gradebook, roster = course
    with open_gradebook(gradebook) as gb:
        scores = gb.counted_scores(HW, Policy())
        users = lti_user_ids([s.student for s in scores], roster, "student")
        return publish(client, gb, HW, "HW5", plan_scores(scores, users.ids))


def test_retry_after_is_honoured_and_5xx_and_timeouts_are_retried(tmp_path, course, key_dir, platform, monkeypatch):
    waited = []
    original = Retry.sleep_for_retry

    def recording(self, response):
        waited.append(self.get_retry_after(response))
        return original(self, response)

    monkeypatch.setattr(Retry, "sleep_for_retry", recording)
    platform.faults += [Fault("POST", "/scores", status=429, retry_after="1"),
                        Fault("POST", "/token", status=503),
                        Fault("GET", "/line_items", status=502)]
    with _client(tmp_path, key_dir, timeout=0.5) as client:
        platform.faults.append(Fault("POST", "/scores", delay=1.5))  # after the 429: outlasts the timeout
        report = _publish(tmp_path, course, client)
    assert [o.outcome for o in report.outcomes if o.outcome != "skipped"] == ["sent", "sent", "sent"]
    assert 1 in waited
    assert all(f.hits == f.times for f in platform.faults)
    assert platform.scores[1, "lti-aaa1"]["scoreGiven"] == 104.0


def test_a_column_created_despite_a_500_is_not_created_twice(tmp_path, course, key_dir, platform):
    platform.faults += [Fault("POST", "/line_items", status=429, retry_after="0"),
                        Fault("POST", "/line_items", status=500, after_processing=True)]
    with _client(tmp_path, key_dir) as client:
        report = _publish(tmp_path, course, client)
    assert len(platform.line_items) == 1 and not report.created
    assert report.count("sent") == 3


def test_moodle_style_line_item_urls_keep_their_query(key_dir, tmp_path, course):
    with FakePlatform(load_key(key_dir).public_jwk(), students=set(LTI.values()), query="type_id=7") as fake:
        (tmp_path / "platform.toml").write_text(fake.platform_toml(), encoding="utf-8")
        with _client(tmp_path, key_dir) as client:
            report = _publish(tmp_path, course, client)
    assert report.count("sent") == 3 and report.line_item.id.endswith("/1?type_id=7")


def test_the_platform_rejects_replayed_assertions_and_wrong_media_types(tmp_path, key_dir, platform):
    """The fake must be strict for the tests above to mean anything."""
    config = read_platform(tmp_path / "platform.toml")
    assertion = client_assertion(config, load_key(key_dir), dt.datetime.now(dt.timezone.utc))
    form = {"grant_type": "client_credentials", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "scope": "https://purl.imsglobal.org/spec/lti-ags/scope/score"}
    first = requests.post(config.token_url, data=form, timeout=5)
    replay = requests.post(config.token_url, data=form, timeout=5)
    assert first.status_code == 200 and replay.status_code == 401
    assert "jti already used" in replay.json()["error_description"]
    token = first.json()["access_token"]
    platform.add_line_item("HW5", 105, HW, TAG)
    url = f"{platform.base}{COURSE}/1/scores"
    score = {"userId": "lti-aaa1", "scoreGiven": 1, "scoreMaximum": 2, "activityProgress": "Completed",
             "gradingProgress": "FullyGraded", "timestamp": "2026-12-01T00:00:00.000+00:00"}
    headers = {"Authorization": f"Bearer {token}"}
    wrong = requests.post(url, json=score, headers=headers, timeout=5)
    right = requests.post(url, data=json.dumps(score), headers={**headers, "Content-Type": SCORE_TYPE}, timeout=5)
    listing = requests.get(config.lineitems_url, headers=headers, timeout=5)
    assert (wrong.status_code, right.status_code, listing.status_code) == (415, 200, 403)  # score scope only



def test_the_gradebook_keeps_one_published_row_per_column_and_student(tmp_path):
    when = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    with open_gradebook(tmp_path / "g.sqlite") as gb:
        gb.record_published(PublishedView("col-1", HW, "s1", "lti-1", 80.0, 105.0, "c", 1, when))
        gb.record_published(PublishedView("col-1", HW, "s1", "lti-1", 90.0, 105.0, "d", 2, when))
        gb.record_published(PublishedView("col-2", HW, "s1", "lti-1", 10.0, 105.0, "e", 2, when))
        [(student, row)] = gb.published("col-1").items()
    assert (student, row.score, row.comment, row.attempt_id, row.sent_at) == ("s1", 90.0, "d", 2, when)
    assert row.same_as("lti-1", 90.0 + 1e-12, 105.0, "d")
    assert not row.same_as("lti-1", 90.0, 105.0, "d2") and not row.same_as("lti-2", 90.0, 105.0, "d")


def test_an_expired_token_is_renewed_once(tmp_path, course, key_dir, platform):
    with _client(tmp_path, key_dir) as client:
        platform.tokens.clear()  # as if the hour had passed
        report = _publish(tmp_path, course, client)
    assert report.count("sent") == 3 and len(platform.token_requests) == 2


def test_the_client_assertion_is_short_lived_and_unique(tmp_path, key_dir, platform):
    config, key = read_platform(tmp_path / "platform.toml"), load_key(key_dir)
    now = dt.datetime.now(dt.timezone.utc)
    tokens = [client_assertion(config, key, now) for _ in range(2)]
    claims = [jwt.decode(t, key.private_key.public_key(), algorithms=["RS256"], audience=config.token_url)
              for t in tokens]
    assert jwt.get_unverified_header(tokens[0])["kid"] == key.kid == key.public_jwk()["kid"]
    assert claims[0]["iss"] == claims[0]["sub"] == config.client_id
    assert claims[0]["exp"] - claims[0]["iat"] == 300 and claims[0]["jti"] != claims[1]["jti"]


def test_ungraded_manual_items_are_sent_only_when_asked(tmp_path, course, key_dir, platform):
    result = publish_cli(tmp_path, course, key_dir, "--allow-ungraded-manual")
    assert result.exit_code == 0, result.output
    assert table(result)["s7"] == "sent"
    [s7] = platform.posts_for("lti-ggg7")
    assert s7["scoreGiven"] == 100.0 and "manual item written_answers not graded yet" in s7["comment"]


def test_a_platform_that_stops_answering_is_not_hammered(tmp_path, course, key_dir, platform):
    gradebook, roster = course
    extra = {"s8": "lti-hhh8", "s9": "lti-iii9"}
    with open_gradebook(gradebook) as gb:
        for student in extra:
            gb.record(make_result(student), student, at(0))
            gb.set_manual(student, HW, "written_answers", 5.0, None, "kim")
    roster.write_text(roster.read_text() + "".join(f"{s},X,{i}\n" for s, i in extra.items()), encoding="utf-8")
    platform.faults.append(Fault("POST", "/scores", status=503, times=1000))
    result = publish_cli(tmp_path, course, key_dir)
    assert result.exit_code == 1
    outcomes = table(result)
    assert [outcomes[s] for s in ("s1", "s2", "s5", "s8", "s9")] == ["failed"] * 5
    assert result.stdout.count("not tried: the platform failed 3 posts in a row") == 2
    assert platform.faults[0].hits == 3 * 3  # three students, each with its 2 retries; then no more
    assert "5 of 7 score(s) not sent" in result.stderr


def test_a_registration_without_the_score_scope_is_named(tmp_path, key_dir):
    with FakePlatform(load_key(key_dir).public_jwk(), students=set(), scopes=(LINEITEM_SCOPE,)) as fake:
        (tmp_path / "platform.toml").write_text(fake.platform_toml(), encoding="utf-8")
        result = run("lti", "check", tmp_path / "platform.toml", "--key-dir", key_dir)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert f"did not grant {SCORE_SCOPE}" in line and "docs/lms.md" in line

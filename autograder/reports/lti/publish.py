"""Reports step: LTI publishing: owns deciding each student's AGS Score, sending only what changed, recording it.

A student's Score is the gradebook's counted grade (the policy's attempt, manual items and
question overrides added, the late penalty applied). Only a counted attempt with status
`graded` is a grade: an ungradable, faulted (`error`) or after-cutoff attempt is never sent as
0, and neither is a total still missing manual items (unless asked). Each accepted Score is
recorded in the gradebook at once, so an interrupted or partly failed run resumes where it
stopped and a rerun sends only scores that changed (Canvas adds every comment it receives to
the submission's comments, so resending unchanged ones is not harmless).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from autograder.course.gradebook import CountedScore, Gradebook, PublishedView
from autograder.reports.lti.ags import AgsClient, LineItem, PlatformError, Score
from autograder.reports.tabular import feedback_text, fmt_points, points_possible

TAG = "intro2ai-autograder"
STOP_AFTER_UNAVAILABLE = 3  # consecutive posts the platform did not answer (after retries)
UTC = dt.timezone.utc
Outcome = Literal["sent", "unchanged", "would send", "skipped", "failed"]


@dataclass(frozen=True)
class Planned:
    """One student's Score, or why there is none."""

    counted: CountedScore
    lms_user_id: str | None
    score: Score | None
    skip_reason: str | None = None

    @property
    def student(self) -> str:
        return self.counted.student


@dataclass(frozen=True)
class StudentOutcome:
    student: str
    lms_user_id: str
    points: str
    outcome: Outcome
    detail: str = ""
    platform_down: bool = False  # failed with no answer, a 429 or a 5xx after every retry


@dataclass
class PublishReport:
    """The line item used and what happened to every student."""

    line_item: LineItem | None
    created: bool
    dry_run: bool
    outcomes: list[StudentOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(o.outcome == outcome for o in self.outcomes)


def plan_scores(scores: Sequence[CountedScore], lms_ids: dict[str, str],
                allow_ungraded_manual: bool = False) -> list[Planned]:
    """The Score each student would get, or the reason they get none."""
    return [_plan(s, lms_ids.get(s.student), allow_ungraded_manual) for s in scores]


def _plan(score: CountedScore, lms_id: str | None, allow_ungraded_manual: bool) -> Planned:
    skip = None
    pending = [m.id for m in score.manual if m.score is None and m.max_score > 0]
    if score.status != "graded":
        skip = f"counted attempt is {score.status}, which is not a grade: nothing sent"
    elif pending and not allow_ungraded_manual:
        skip = (f"manual item(s) {', '.join(pending)} not graded yet: grade them with `grade manual` "
                f"(or publish with --allow-ungraded-manual)")
    elif lms_id is None:
        skip = "no LTI user id in the roster"
    if skip:
        return Planned(score, lms_id, None, skip)
    return Planned(score, lms_id, Score(lms_id, score.score, score.max_score, feedback_text(score)))


def publish(client: AgsClient, gradebook: Gradebook, assignment: str, title: str,
            planned: Sequence[Planned], dry_run: bool = False) -> PublishReport:
    """Find (or create) the assignment's line item and post every changed Score.

    `client` must be connected. With `dry_run` nothing is created or posted: the line item is
    only looked up and each student's row says what a real run would do."""
    sendable = [p for p in planned if p.score is not None]
    maximum, warnings = points_possible(p.counted for p in sendable) if sendable else (0.0, [])
    items = client.find_line_items(assignment, TAG)
    if len(items) > 1:
        warnings.append(f"{len(items)} line items have resourceId {assignment!r} and tag {TAG!r}; "
                        f"using {items[0].id} (delete the others in the LMS)")
    line_item, created = (items[0] if items else None), False
    if line_item is None and sendable and not dry_run:
        line_item, created = client.create_line_item(assignment, TAG, title, maximum)
    if line_item is not None and sendable and abs(line_item.score_maximum - maximum) > 1e-9:
        warnings.append(f"the LMS column has {fmt_points(line_item.score_maximum)} points, the grades "
                        f"{fmt_points(maximum)}: the LMS scales each score to its column")
    report = PublishReport(line_item, created, dry_run, warnings=warnings)
    published = gradebook.published(line_item.id) if line_item else {}
    unavailable = 0
    for plan in planned:
        if unavailable >= STOP_AFTER_UNAVAILABLE and plan.score is not None:
            report.outcomes.append(StudentOutcome(
                plan.student, plan.lms_user_id or "", "", "failed",
                f"not tried: the platform failed {unavailable} posts in a row; rerun later to resume"))
            continue
        outcome = _publish_one(client, gradebook, assignment, line_item, plan,
                               published.get(plan.student), dry_run)
        if outcome.platform_down:
            unavailable += 1
        elif outcome.outcome in ("sent", "failed"):  # the platform answered
            unavailable = 0
        report.outcomes.append(outcome)
    return report


def _publish_one(client: AgsClient, gradebook: Gradebook, assignment: str, line_item: LineItem | None,
                 plan: Planned, before: PublishedView | None, dry_run: bool) -> StudentOutcome:
    score = plan.score
    lms_id = plan.lms_user_id or ""
    if score is None:
        return StudentOutcome(plan.student, lms_id, "", "skipped", plan.skip_reason or "")
    points = f"{fmt_points(score.score_given)}/{fmt_points(score.score_maximum)}"
    if before is not None and before.same_as(lms_id, score.score_given, score.score_maximum, score.comment):
        return StudentOutcome(plan.student, lms_id, points, "unchanged",
                              f"sent {before.sent_at:%Y-%m-%d %H:%M} UTC")
    change = (f"was {fmt_points(before.score)}/{fmt_points(before.max_score)}" if before else "first time")
    if dry_run or line_item is None:
        return StudentOutcome(plan.student, lms_id, points, "would send", change)
    try:
        client.post_score(line_item, score)
    except PlatformError as exc:
        down = exc.status is None or exc.status == 429 or exc.status >= 500
        return StudentOutcome(plan.student, lms_id, points, "failed", str(exc), down)
    gradebook.record_published(PublishedView(
        line_item.id, assignment, plan.student, lms_id, score.score_given, score.score_maximum,
        score.comment, plan.counted.attempt_id, dt.datetime.now(UTC)))
    return StudentOutcome(plan.student, lms_id, points, "sent", change)


def render_report(report: PublishReport) -> str:
    """The per-student outcome table and a one-line summary."""
    rows = [("student", "LTI user id", "score", "outcome", "detail")]
    rows += [(o.student, o.lms_user_id, o.points, o.outcome, o.detail) for o in report.outcomes]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join([*(r[i].ljust(widths[i]) for i in range(4)), r[4]]).rstrip() for r in rows]
    if report.line_item is not None:
        how = "created" if report.created else "found"
        lines.append(f"line item {how}: {report.line_item.id} ({report.line_item.label})")
    elif report.dry_run:
        lines.append("line item: none yet (a real run creates it)")
    counts = ", ".join(f"{report.count(k)} {k}" for k in ("sent", "would send", "unchanged", "skipped", "failed")
                       if report.count(k))
    lines.append(("dry run: " if report.dry_run else "") + (counts or "no students"))
    return "\n".join(lines)

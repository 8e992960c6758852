"""Course step: gradebook: SQLAlchemy models and queries for every graded attempt, manual grades and policies.

Storage: an SQLite file by default (WAL journal, busy timeout, `BEGIN IMMEDIATE` for writes, so
several grading processes can record at once), or any SQLAlchemy URL (PostgreSQL included: only
portable column types are used). An attempt is identified by (student, assignment, sha256,
assignment_version, seed); recording the same identity twice returns the first attempt's id.

Scoring rules (`counted_scores`):
- `Policy.pick` chooses the attempt that counts: `latest` (by submission time, else grading
  time) or `best` (highest score after the late penalty; ties go to the later attempt).
  Ungradable attempts take part and score 0.
- Late: an attempt submitted after `due` loses `penalty_per_day` of its earned points for every
  day *started* after `due` (1 s late = 1 day), floored at 0. The penalty covers the whole
  total, manual items included. An attempt without a submission time is taken as on time and
  noted.
- Cutoff: attempts submitted after `cutoff` are not counted at all; a student whose attempts
  are all after the cutoff is listed with score 0 and status `after_cutoff`.
- Manual grades follow the student, not an attempt. An item id names either a manual item
  (its score is added) or a question (its score replaces the engine's score for that question
  in whichever attempt counts, noted with the original score).

Publishing: `published_scores` keeps, per LMS gradebook column (`target`, e.g. an LTI line item
URL) and student, the last score sent there, so a rerun sends only what changed.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from autograder.grading.result import Counted, Override, Result

UTC = dt.timezone.utc
NO_SEED = -1  # stored for a result without a seed: SQL NULLs never collide in a unique key
SCORE_TOLERANCE = 1e-9
SQLITE_BUSY_TIMEOUT_S = 60


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as naive UTC (portable across SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else _aware(value).astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Attempt(Base):
    """One graded (or ungradable) submission zip."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("student", "assignment", "sha256", "assignment_version", "seed",
                         name="uq_attempt_identity"),
        Index("ix_attempts_assignment_student", "assignment", "student"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student: Mapped[str] = mapped_column(String(200))
    assignment: Mapped[str] = mapped_column(String(100))
    assignment_version: Mapped[str] = mapped_column(String(50))
    sha256: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[str] = mapped_column(String(50))
    submission: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    graded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    result: Mapped[dict] = mapped_column(JSON)
    questions: Mapped[list[QuestionScore]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan", order_by="QuestionScore.position")


class QuestionScore(Base):
    """One question's outcome within an attempt (queryable without parsing the JSON)."""

    __tablename__ = "question_scores"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id", name="uq_question_per_attempt"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[Attempt] = relationship(back_populates="questions")


class GradingFault(Base):
    """A submission the grader failed on (not a grade): kept so that exports and pages can say who is
    missing a grade until a later run records an attempt for the same content."""

    __tablename__ = "grading_faults"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student: Mapped[str] = mapped_column(String(200))
    assignment: Mapped[str] = mapped_column(String(100), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ManualGrade(Base):
    """A grader's score and comment for one manual item or question of a student's assignment."""

    __tablename__ = "manual_grades"
    __table_args__ = (UniqueConstraint("student", "assignment", "item_id", name="uq_manual_item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student: Mapped[str] = mapped_column(String(200))
    assignment: Mapped[str] = mapped_column(String(100), index=True)
    item_id: Mapped[str] = mapped_column(String(100))
    score: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    grader: Mapped[str] = mapped_column(String(200))
    graded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PublishedScore(Base):
    """The last score sent to one LMS gradebook column for one student."""

    __tablename__ = "published_scores"
    __table_args__ = (UniqueConstraint("target", "student", name="uq_published_per_target"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(1000))
    assignment: Mapped[str] = mapped_column(String(100), index=True)
    student: Mapped[str] = mapped_column(String(200))
    lms_user_id: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text)
    attempt_id: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------- read-only views


@dataclass(frozen=True)
class QuestionView:
    id: str
    title: str
    score: float
    max_score: float
    status: str


@dataclass(frozen=True)
class AttemptView:
    id: int
    student: str
    assignment: str
    assignment_version: str
    sha256: str
    seed: int | None
    data: str
    submission: str
    status: str
    score: float
    max_score: float
    duration_s: float | None
    submitted_at: dt.datetime | None
    graded_at: dt.datetime
    questions: tuple[QuestionView, ...]


@dataclass(frozen=True)
class ManualView:
    student: str
    assignment: str
    item_id: str
    score: float | None
    comment: str | None
    grader: str
    graded_at: dt.datetime


@dataclass(frozen=True)
class PublishedView:
    """What was sent to an LMS column for a student; `same_as` tells whether a new one differs."""

    target: str
    assignment: str
    student: str
    lms_user_id: str
    score: float
    max_score: float
    comment: str
    attempt_id: int | None
    sent_at: dt.datetime

    def same_as(self, lms_user_id: str, score: float, max_score: float, comment: str) -> bool:
        return (self.lms_user_id == lms_user_id and abs(self.score - score) <= SCORE_TOLERANCE
                and abs(self.max_score - max_score) <= SCORE_TOLERANCE and self.comment == comment)


@dataclass(frozen=True)
class MissingGrade:
    """A student whose latest submission the grader failed on, with no attempt recorded for it since."""

    student: str
    sha256: str
    message: str
    at: dt.datetime


@dataclass(frozen=True)
class Policy:
    """Which attempt counts and how lateness is charged (see the module docstring)."""

    pick: Literal["latest", "best"] = "latest"
    due: dt.datetime | None = None
    penalty_per_day: float = 0.0
    cutoff: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.pick not in ("latest", "best"):
            raise ValueError(f"policy pick must be 'latest' or 'best', not {self.pick!r}")
        if not 0.0 <= self.penalty_per_day <= 1.0:
            raise ValueError("penalty_per_day is a fraction between 0 and 1")
        for when in (self.due, self.cutoff):
            if when is not None:
                _aware(when)
        if self.due and self.cutoff and self.cutoff < self.due:
            raise ValueError("cutoff is before the due date")

    def days_late(self, submitted_at: dt.datetime | None) -> int:
        """Days started after the due date (0 when on time or unknown)."""
        if self.due is None or submitted_at is None or submitted_at <= self.due:
            return 0
        return math.ceil((submitted_at - self.due) / dt.timedelta(days=1))

    def factor(self, submitted_at: dt.datetime | None) -> float:
        return max(0.0, 1.0 - self.penalty_per_day * self.days_late(submitted_at))

    def after_cutoff(self, submitted_at: dt.datetime | None) -> bool:
        return self.cutoff is not None and submitted_at is not None and submitted_at > self.cutoff


@dataclass(frozen=True)
class CountedItem:
    """A question or manual item as it counts for the student."""

    id: str
    title: str
    score: float | None
    max_score: float
    status: str
    comment: str | None = None
    grader: str | None = None


@dataclass(frozen=True)
class CountedScore:
    """What one student gets for one assignment under a policy; `result` is the counted
    attempt's typed result with manual grades merged in and its `counted` summary set."""

    student: str
    assignment: str
    attempt_id: int | None
    status: str
    auto_score: float
    manual_score: float
    max_score: float
    days_late: int
    factor: float
    score: float
    submitted_at: dt.datetime | None
    attempts: int
    questions: tuple[CountedItem, ...]
    manual: tuple[CountedItem, ...]
    notes: tuple[str, ...]
    result: Result | None


@dataclass
class ManualImportReport:
    """Outcome of `import_manual_csv`: nothing is applied when `errors` is not empty."""

    applied: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------- the gradebook


class Gradebook:
    """Records attempts and manual grades; answers what each student's grade is."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(gradebook_write=True)
        _create_schema(self._writer)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A short write transaction (`BEGIN IMMEDIATE` on SQLite: waits instead of failing)."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            yield session

    # ------------------------------------------------------------ attempts

    def record(self, result: dict, student: str, submitted_at: dt.datetime | None = None) -> int:
        """Store one result document for `student`; idempotent on the attempt identity."""
        attempt = _attempt_from_result(result, student, submitted_at)
        try:
            with self._write() as session:
                session.add(attempt)
                session.flush()
                return attempt.id
        except IntegrityError:
            found = self.find_attempt(student, attempt.assignment, attempt.sha256,
                                      attempt.assignment_version, attempt.seed)
            if found is None:
                raise
            return found

    def find_attempt(self, student: str, assignment: str, sha256: str, version: str,
                     seed: int | None) -> int | None:
        """The id of an attempt with this identity (same content, version and seed), if any."""
        query = select(Attempt.id).where(
            Attempt.student == student, Attempt.assignment == assignment,
            Attempt.sha256 == sha256, Attempt.assignment_version == version,
            Attempt.seed == (NO_SEED if seed is None else seed))
        with self._read() as session:
            return session.scalar(query)

    def record_fault(self, student: str, assignment: str, sha256: str, message: str) -> None:
        """Note that the grader failed on this submission; never an attempt, never a score."""
        with self._write() as session:
            session.add(GradingFault(student=student, assignment=assignment, sha256=sha256, message=message,
                                     at=dt.datetime.now(UTC)))  # fmt: skip

    def missing_grades(self, assignment: str) -> list[MissingGrade]:
        """Submissions the grader failed on and no later run graded (by student, latest fault)."""
        graded = select(Attempt.id).where(Attempt.student == GradingFault.student,
                                          Attempt.assignment == GradingFault.assignment,
                                          Attempt.sha256 == GradingFault.sha256)  # fmt: skip
        query = (select(GradingFault).where(GradingFault.assignment == assignment, ~graded.exists())
                 .order_by(GradingFault.id))  # fmt: skip
        with self._read() as session:
            latest = {f.student: MissingGrade(f.student, f.sha256, f.message, f.at) for f in session.scalars(query)}
        return [latest[s] for s in sorted(latest)]

    def attempts(self, assignment: str | None = None, student: str | None = None) -> list[AttemptView]:
        """Attempts in recording order, optionally for one assignment and/or student."""
        query = select(Attempt).order_by(Attempt.id)
        if assignment is not None:
            query = query.where(Attempt.assignment == assignment)
        if student is not None:
            query = query.where(Attempt.student == student)
        with self._read() as session:
            return [_attempt_view(a) for a in session.scalars(query)]

    def result(self, attempt_id: int) -> dict:
        """The stored result document of one attempt."""
        with self._read() as session:
            attempt = session.get(Attempt, attempt_id)
            if attempt is None:
                raise KeyError(f"no attempt {attempt_id}")
            return copy.deepcopy(attempt.result)

    def students(self, assignment: str) -> list[str]:
        """Students with at least one attempt at `assignment`, sorted."""
        query = (select(Attempt.student).where(Attempt.assignment == assignment)
                 .distinct().order_by(Attempt.student))
        with self._read() as session:
            return list(session.scalars(query))

    # ------------------------------------------------------------ manual grades

    def set_manual(self, student: str, assignment: str, item_id: str, score: float | None,
                   comment: str | None, grader: str) -> None:
        """Enter or replace a grader's score/comment for a manual item or a question."""
        with self._write() as session:
            errors = _manual_errors(session, assignment, [(student, item_id, score)], grader)
            if errors:
                raise ValueError("; ".join(msg for _, msg in errors))
            _upsert_manual(session, student, assignment, item_id, score, comment, grader)

    def import_manual_csv(self, path: str | Path, assignment: str, grader: str) -> ManualImportReport:
        """Apply a CSV of `student,item,score[,comment]` rows all-or-nothing, in one transaction;
        every bad line is reported (by line number) and then nothing is applied."""
        rows, errors = _read_manual_csv(Path(path))
        with self._write() as session:
            entries = [(r["student"], r["item"], r["score"]) for r in rows]
            errors += _manual_errors(session, assignment, entries, grader, [r["line"] for r in rows])
            if errors or not rows:
                return ManualImportReport(0, [msg for _, msg in sorted(errors)]
                                          or ["the file has no grade rows"])
            for r in rows:
                _upsert_manual(session, r["student"], assignment, r["item"], r["score"], r["comment"], grader)
        return ManualImportReport(len(rows))

    def manual_grades(self, assignment: str) -> list[ManualView]:
        query = (select(ManualGrade).where(ManualGrade.assignment == assignment)
                 .order_by(ManualGrade.student, ManualGrade.item_id))
        with self._read() as session:
            return [ManualView(m.student, m.assignment, m.item_id, m.score, m.comment, m.grader,
                               m.graded_at) for m in session.scalars(query)]

    # ------------------------------------------------------------ grades

    def counted_scores(self, assignment: str, policy: Policy | None = None) -> list[CountedScore]:
        """One row per student with an attempt at `assignment`, sorted by student."""
        policy = policy or Policy()
        with self._read() as session:
            attempts = session.scalars(select(Attempt).where(Attempt.assignment == assignment)
                                       .order_by(Attempt.id)).all()
            grades = session.scalars(select(ManualGrade).where(ManualGrade.assignment == assignment)).all()
            by_student: dict[str, list[Attempt]] = {}
            for a in attempts:
                by_student.setdefault(a.student, []).append(a)
            manual: dict[str, dict[str, ManualGrade]] = {}
            for g in grades:
                manual.setdefault(g.student, {})[g.item_id] = g
            return [_count(student, by_student[student], manual.get(student, {}), policy)
                    for student in sorted(by_student)]


    # ------------------------------------------------------------ publishing to an LMS

    def published(self, target: str) -> dict[str, PublishedView]:
        """Student -> the last score sent to the LMS column `target`."""
        query = select(PublishedScore).where(PublishedScore.target == target)
        with self._read() as session:
            return {p.student: PublishedView(p.target, p.assignment, p.student, p.lms_user_id, p.score,
                                             p.max_score, p.comment, p.attempt_id, p.sent_at)
                    for p in session.scalars(query)}

    def record_published(self, sent: PublishedView) -> None:
        """Remember a score the LMS accepted (replacing the previous one for that column)."""
        with self._write() as session:
            row = session.scalar(select(PublishedScore).where(
                PublishedScore.target == sent.target, PublishedScore.student == sent.student))
            if row is None:
                row = PublishedScore(target=sent.target, student=sent.student)
                session.add(row)
            row.assignment, row.lms_user_id, row.comment = sent.assignment, sent.lms_user_id, sent.comment
            row.score, row.max_score, row.attempt_id = sent.score, sent.max_score, sent.attempt_id
            row.sent_at = sent.sent_at


def open_gradebook(url_or_path: str | Path) -> Gradebook:
    """Open (creating if needed) a gradebook: a file path means SQLite, else an SQLAlchemy URL."""
    text = str(url_or_path)
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"sqlite:///{path}"
    if make_url(text).get_backend_name() != "sqlite":
        return Gradebook(create_engine(text))
    engine = create_engine(text, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    _configure_sqlite(engine)
    return Gradebook(engine)


# ---------------------------------------------------------------- engine plumbing


def _configure_sqlite(engine: Engine) -> None:
    """WAL + busy timeout on every connection; we issue BEGIN ourselves (pysqlite's implicit
    deferred BEGIN lets two writers deadlock on the read-to-write upgrade)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get("gradebook_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _create_schema(engine: Engine) -> None:
    """Create missing tables; a second process racing us to it retries once."""
    for attempt in range(2):
        try:
            with engine.begin() as connection:
                Base.metadata.create_all(connection)
            return
        except (OperationalError, ProgrammingError, IntegrityError):
            if attempt:
                raise


# ---------------------------------------------------------------- helpers


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: give it a timezone")
    return value


def _json_safe(value: Any) -> Any:
    """Non-finite floats become null: PostgreSQL's JSON rejects NaN/Infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _graded_at(started_at: str | None, duration_s: float | None) -> dt.datetime:
    """End of grading: `started_at + duration_s` (None when not finite), else now."""
    if not started_at:
        return dt.datetime.now(UTC)
    when = dt.datetime.fromisoformat(started_at)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when + dt.timedelta(seconds=duration_s or 0.0)


def _attempt_from_result(document: dict, student: str, submitted_at: dt.datetime | None) -> Attempt:
    """The row for one result document (read through the typed model; stored as schema 2)."""
    if not isinstance(student, str) or not student.strip():
        raise ValueError("student id must be a non-empty string")
    result = Result.from_json(document)
    if result.status not in ("graded", "ungradable"):
        raise ValueError(f"a result with status {result.status!r} is no grade: only graded and ungradable "
                         "results are recorded (grade the submission again)")
    if submitted_at is not None:
        _aware(submitted_at)
    result.student = student
    stored = _json_safe(result.to_json())
    attempt = Attempt(
        student=student, assignment=result.assignment,
        assignment_version=str(result.assignment_version), sha256=result.sha256,
        seed=NO_SEED if result.seed is None else int(result.seed), data=str(result.data or ""),
        submission=str(result.submission or ""), status=result.status,
        message=str(result.message or ""), score=float(result.score or 0.0),
        max_score=float(result.max_score or 0.0), duration_s=stored.get("duration_s"),
        submitted_at=submitted_at, graded_at=_graded_at(result.started_at, stored.get("duration_s")),
        recorded_at=dt.datetime.now(UTC), result=stored)
    attempt.questions = [
        QuestionScore(position=i, question_id=q.id, title=str(q.title or ""), score=float(q.score or 0.0),
                      max_score=float(q.max_score or 0.0), status=q.status or "")
        for i, q in enumerate(result.questions)]
    return attempt


def _attempt_view(a: Attempt) -> AttemptView:
    return AttemptView(
        a.id, a.student, a.assignment, a.assignment_version, a.sha256,
        None if a.seed == NO_SEED else a.seed, a.data, a.submission, a.status, a.score,
        a.max_score, a.duration_s, a.submitted_at, a.graded_at,
        tuple(QuestionView(q.question_id, q.title, q.score, q.max_score, q.status) for q in a.questions))


def _gradable_items(session: Session, assignment: str) -> dict[str, float]:
    """Item id -> max score: manual items and questions of the newest attempt of each version."""
    newest = (select(func.max(Attempt.id)).where(Attempt.assignment == assignment)
              .group_by(Attempt.assignment_version))
    items: dict[str, float] = {}
    for document in session.scalars(select(Attempt.result).where(Attempt.id.in_(newest))
                                    .order_by(Attempt.id)):
        result = Result.from_json(document)
        for entry in [*result.questions, *result.manual]:
            items[entry.id] = float(entry.max_score or 0.0)
    return items


def _manual_errors(session: Session, assignment: str, entries: list[tuple[str, str, float | None]],
                   grader: str, lines: list[int] | None = None) -> list[tuple[int, str]]:
    """(line, why) for each (student, item, score) that cannot be applied; lines from the CSV."""
    if not grader or not grader.strip():
        return [(0, "grader name is required")]
    items = _gradable_items(session, assignment)
    known = set(session.scalars(select(Attempt.student).where(Attempt.assignment == assignment)))
    errors = []
    for i, (student, item, score) in enumerate(entries):
        line = lines[i] if lines else 0
        where = f"line {line}: " if lines else ""
        if student not in known:
            errors.append((line, f"{where}unknown student {student!r} (no attempt at {assignment})"))
        if item not in items:
            errors.append((line, f"{where}unknown item {item!r} (known: {', '.join(sorted(items))})"))
        elif score is not None and not 0.0 <= score <= items[item] + SCORE_TOLERANCE:
            errors.append((line, f"{where}score {score:g} for {item!r} is outside 0..{items[item]:g}"))
    return errors


def _upsert_manual(session: Session, student: str, assignment: str, item_id: str,
                   score: float | None, comment: str | None, grader: str) -> None:
    row = session.scalar(select(ManualGrade).where(
        ManualGrade.student == student, ManualGrade.assignment == assignment,
        ManualGrade.item_id == item_id))
    if row is None:
        row = ManualGrade(student=student, assignment=assignment, item_id=item_id)
        session.add(row)
    row.score, row.comment, row.grader = score, comment, grader.strip()
    row.graded_at = dt.datetime.now(UTC)


def _read_manual_csv(path: Path) -> tuple[list[dict], list[tuple[int, str]]]:
    """Parse every row; returns the well-formed rows and (line, why) for the others."""
    rows: list[dict] = []
    errors: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip().lower() for h in reader.fieldnames or []]
        missing = {"student", "item", "score"} - set(header)
        if missing:
            return [], [(1, f"line 1: missing column(s) {', '.join(sorted(missing))}")]
        reader.fieldnames = header
        for raw in reader:
            row = _manual_row(raw, reader.line_num, seen, errors)
            if row:
                rows.append(row)
    return rows, errors


def _manual_row(raw: dict, line: int, seen: dict[tuple[str, str], int],
                errors: list[tuple[int, str]]) -> dict | None:
    student, item = (raw.get("student") or "").strip(), (raw.get("item") or "").strip()
    text = (raw.get("score") or "").strip()
    comment = (raw.get("comment") or "").strip() or None
    problem = None
    if not student or not item:
        problem = "student and item are required"
    elif (student, item) in seen:
        problem = f"{student!r}/{item!r} already given on line {seen[student, item]}"
    else:
        seen[student, item] = line
        try:
            score = float(text) if text else None
        except ValueError:
            score, problem = None, f"score {text!r} is not a number"
        if score is not None and not math.isfinite(score):
            problem = f"score {text!r} is not a finite number"
    if problem:
        errors.append((line, f"line {line}: {problem}"))
        return None
    return {"line": line, "student": student, "item": item, "score": score, "comment": comment}


def _order_key(a: Attempt) -> tuple:
    return (a.submitted_at or a.graded_at, a.id)


def _auto_score(a: Attempt, overrides: dict[str, ManualGrade]) -> float:
    return a.score + sum(overrides[q.question_id].score - q.score for q in a.questions
                         if q.question_id in overrides)


def _count(student: str, attempts: list[Attempt], grades: dict[str, ManualGrade],
           policy: Policy) -> CountedScore:
    attempts = sorted(attempts, key=_order_key)
    question_ids = {q.question_id for a in attempts for q in a.questions}
    overrides = {k: g for k, g in grades.items() if k in question_ids and g.score is not None}
    eligible = [a for a in attempts if not policy.after_cutoff(a.submitted_at)]
    if not eligible:
        return _after_cutoff(student, attempts[-1], len(attempts))
    if policy.pick == "latest":
        chosen = eligible[-1]
    else:
        chosen = max(eligible, key=lambda a: (_auto_score(a, overrides) * policy.factor(a.submitted_at),
                                              _order_key(a)))
    return _counted(student, chosen, len(attempts), grades, overrides, policy)


def _after_cutoff(student: str, last: Attempt, n_attempts: int) -> CountedScore:
    manual_max = sum(float(m.max_score or 0.0) for m in Result.from_json(last.result).manual)
    return CountedScore(
        student, last.assignment, None, "after_cutoff", 0.0, 0.0, last.max_score + manual_max,
        0, 0.0, 0.0, last.submitted_at, n_attempts, (), (),
        (f"all {n_attempts} attempt(s) were submitted after the cutoff",), None)


def _counted(student: str, chosen: Attempt, n_attempts: int, grades: dict[str, ManualGrade],
             overrides: dict[str, ManualGrade], policy: Policy) -> CountedScore:
    result = Result.from_json(copy.deepcopy(chosen.result))
    notes: list[str] = []
    questions = []
    for q in result.questions:
        grade = grades.get(q.id)
        if q.id in overrides:
            notes.append(f"{q.id} set to {grade.score:g} by {grade.grader} (engine gave {q.score:g})")
            q.override = Override(grade.score, q.score, grade.grader, grade.comment)
            q.score = grade.score
        elif grade is not None and grade.comment:
            q.override = Override(None, q.score, grade.grader, grade.comment)
        questions.append(CountedItem(q.id, q.title, q.score, q.max_score, q.status,
                                     grade.comment if grade else None, grade.grader if grade else None))
    manual = []
    for m in result.manual:
        grade = grades.get(m.id)
        if grade is not None:
            m.score, m.comment, m.grader = grade.score, grade.comment, grade.grader
        if m.score is None and float(m.max_score or 0.0) > 0:
            notes.append(f"manual item {m.id} not graded yet")
        manual.append(CountedItem(m.id, m.title, m.score, float(m.max_score or 0.0), "manual", m.comment, m.grader))
    auto = _auto_score(chosen, overrides)
    manual_score = sum(m.score or 0.0 for m in manual)
    max_score = chosen.max_score + sum(m.max_score for m in manual)
    days, factor = policy.days_late(chosen.submitted_at), policy.factor(chosen.submitted_at)
    if chosen.submitted_at is None and policy.due is not None:
        notes.append("no submission time: late policy not applied")
    if days:
        notes.append(f"{days} day(s) late: x{factor:g}")
    score = round((auto + manual_score) * factor, 6)
    result.student = student
    result.counted = Counted(chosen.id, score, max_score, auto, manual_score, days, factor, policy.pick, n_attempts,
                             list(notes))  # fmt: skip
    return CountedScore(student, chosen.assignment, chosen.id, chosen.status, auto, manual_score,
                        max_score, days, factor, score, chosen.submitted_at, n_attempts,
                        tuple(questions), tuple(manual), tuple(notes), result)

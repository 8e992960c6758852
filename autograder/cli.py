"""Command line step: the `grade` command line: parses options, calls one function per command, prints, exits.

Exit codes: 0 graded (any score) or command succeeded, 1 refused with a one-line reason (fix the
input), 2 usage error, 3 ungradable submission, 4 internal fault (a bug in the grader: report it).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import click

from autograder.assignment import (
    AssignmentError,
    Limits,
    available_assignments,
    default_assignment,
    load_assignment,
)
from autograder.reports.lti import DEFAULT_KEY_DIR

EXIT_OK, EXIT_UNGRADABLE, EXIT_INTERNAL = 0, 3, 4
AUDIT_TARGET = 0.95  # share of non-equivalent mutants an assignment's checks must kill


class GradeGroup(click.Group):
    """`grade submit.zip` is shorthand for `grade zip submit.zip`."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and args[0].endswith(".zip"):
            args = ["zip", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=GradeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="intro2ai-autograder")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              envvar="INTRO2AI_CONFIG", help="Settings file (TOML) for this grading host; default "
              "~/.config/intro2ai-autograder/config.toml when present. Env: INTRO2AI_CONFIG.")  # fmt: skip
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Sandboxed autograder for the intro2ai (cs231n-based) numpy homework.

    \b
    Typical use:
      grade submit.zip                      grade one student's zip (the assignment its manifest names)
      grade submit.zip --json result.json   ... and keep the full result
      grade generate                        rebuild student_template/ from reference/
      grade demo                            build the reference zip and grade it end to end
      grade doctor                          check this host's sandbox before grading a class

    \b
    Exit codes: 0 graded (any score) / success, 1 refused with a one-line
                reason, 2 usage error, 3 ungradable submission, 4 internal fault
                (nothing graded: the sandbox or the grader failed, not the student).
    """
    from autograder.config import ConfigError, read_config

    try:
        config = read_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if config.allow_weaker_isolation:  # the file sets the flag's default; the command line still wins
        ctx.default_map = {name: {"allow_weaker_isolation": True} for name in WEAKER_ISOLATION_COMMANDS}


WEAKER_ISOLATION_COMMANDS = ("zip", "demo", "batch", "doctor", "gradescope-bundle")


def _assignment(name: str | None, submission: Path | None = None):
    """The assignment named by -a, else by the zip's manifest (`grade pack` writes it), else the only one."""
    from autograder.grading.intake import manifest_assignment

    name = name or (manifest_assignment(submission) if submission else None) or default_assignment()
    if name is None:
        raise click.ClickException(f"several assignments ({', '.join(available_assignments())}): "
                                   "name one with -a/--assignment")  # fmt: skip
    try:
        return load_assignment(name)
    except AssignmentError as exc:
        raise click.BadParameter(str(exc), param_hint="--assignment") from exc


def _run_options(assignment, data: str | None = None, no_training: bool = False, **chosen):
    """The one RunOptions of a command: data from `--data` or the assignment's env variable, and
    `--no-training` as the assignment's `[training] groups`; the rest as chosen."""
    from autograder.grading.options import RunOptions

    skipped = assignment.training_groups if no_training else ()
    return RunOptions(data=assignment.data.pick(data), skip_groups=skipped, **chosen)


assignment_option = click.option(
    "-a", "--assignment", "assignment_name", default=None,
    help=f"Assignment id under assignments/ (known: {', '.join(available_assignments()) or 'none'}); default: "
         "the only one, or for a zip the one its manifest names.",
)  # fmt: skip
allow_weaker_option = click.option(
    "--allow-weaker-isolation/--require-bubblewrap", "allow_weaker_isolation", default=False, show_default=True,
    help="Where bubblewrap is missing or cannot create namespaces, grade with the rlimits-only runner (no "
         "file-system or network isolation; never as root) and record it in every result, instead of refusing. "
         "Config file: [sandbox] allow_weaker_isolation = true.",
)  # fmt: skip
data_option = click.option(
    "--data", default=None, metavar="SOURCE",
    help="Training data: one of the assignment's [data] sources (`grade validate -a ID` lists them) or a path; "
         "default: its [data] env variable when set, else its [data] default.",
)  # fmt: skip
no_training_option = click.option(
    "--no-training", is_flag=True, help="Leave out the assignment's training groups ([training] groups: minutes each).")


@main.command("zip")
@click.argument("submission", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@assignment_option
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the result document here.")
@click.option("--seed", type=int, default=None, help="Seed for hidden cases (recorded; reuse it to regrade exactly).")
@data_option
@no_training_option
@click.option("-q", "--question", "only", multiple=True, help="Grade only these question ids (repeatable).")
@click.option("--student", default=None, help="Student id to record in the result.")
@click.option("--artifacts", "artifacts_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Save the executed notebook (.ipynb) and its HTML rendering in this folder.")  # fmt: skip
@click.option("--no-notebook", is_flag=True, help="Do not execute the submitted notebook.")
@click.option("--student-view", is_flag=True,
              help="Print the table as the student may see it now (the assignment's [visibility], before "
                   "its due date and publication); --json still keeps everything.")  # fmt: skip
@allow_weaker_option
def grade_zip_command(submission, assignment_name, json_path, seed, data, no_training, only, student, artifacts_dir,
                      no_notebook, student_view, allow_weaker_isolation) -> None:  # fmt: skip
    """Grade one student's SUBMISSION zip in the sandbox and print a score table.

    A preflight run checks the sandbox first. Exit code 4 (and no score) when the grader or its
    sandbox failed: that is never the student's grade.
    """
    from autograder.grading.run import grade_zip
    from autograder.reports.terminal import render_result

    assignment = _assignment(assignment_name, submission)
    _preflight_or_exit(assignment.limits, allow_weaker_isolation)
    options = _run_options(assignment, data, no_training, seed=seed, only=tuple(only), parallel=2, student=student,
                           progress=_progress_printer(), artifacts_dir=artifacts_dir, run_notebook=not no_notebook,
                           allow_weaker_isolation=allow_weaker_isolation)  # fmt: skip
    result = _guarded(lambda: grade_zip(submission, assignment, options))
    if json_path:
        json_path.write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    click.echo(render_result(result, shown=assignment.visibility.shown() if student_view else None))
    sys.exit(_exit_code(result))


def _exit_code(result) -> int:
    """3 for an ungradable zip; 4, with the traceback on stderr, for a grader fault."""
    if result.status == "error":
        if result.fault and result.fault.traceback:
            click.echo(result.fault.traceback, err=True)
        return EXIT_INTERNAL
    return EXIT_UNGRADABLE if result.status == "ungradable" else EXIT_OK


def _preflight_or_exit(limits, allow_weaker: bool, isolation=None) -> None:
    """One trivial sandboxed run before grading anyone; on failure one line (cause, fix) and exit 4."""
    from autograder.sandbox.preflight import PreflightFailed, preflight

    def run() -> None:
        try:
            preflight(limits, allow_weaker, isolation)
        except PreflightFailed as exc:
            click.echo(f"Error: nothing graded: {exc}", err=True)
            sys.exit(EXIT_INTERNAL)

    _guarded(run)


def _progress_printer():
    if not sys.stderr.isatty():
        return None
    return lambda step: click.echo(f"  running {step} ...", err=True)


def _guarded(action):
    """Runs a command body; a grader bug becomes exit 4 with a short report, not a bare traceback."""
    try:
        return action()
    except click.ClickException:
        raise
    except Exception:  # noqa: BLE001 - the one place internal faults are reported
        click.echo("internal fault: the grader itself failed (this is not the student's fault).", err=True)
        click.echo(traceback.format_exc(limit=6), err=True)
        sys.exit(EXIT_INTERNAL)


@main.command("pack")
@click.argument("working_copy", type=click.Path(exists=True, file_okay=False, path_type=Path), default=".")
@assignment_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("submit.zip"),
              show_default=True, help="Where to write the zip.")  # fmt: skip
@click.option("--without-notebook", is_flag=True, help="Pack even if the notebook is missing or was not run.")
def pack_command(working_copy, assignment_name, output, without_notebook) -> None:
    """Build submit.zip from your WORKING_COPY (the folder holding intro2ai/ and the notebook)."""
    from autograder.student.pack import PackError, pack

    assignment = _assignment(assignment_name)
    try:
        packed = pack(assignment, working_copy, output, require_notebook=not without_notebook)
    except PackError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, digest in packed.files.items():
        click.echo(f"  {name}  sha256 {digest[:12]}")
    click.echo(f"wrote {packed.path} ({len(packed.files)} files)")


@main.command("demo")
@assignment_option
@data_option
@no_training_option
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("grader-work"),
              show_default=True, help="Where the demo writes the zip and the result.")  # fmt: skip
@allow_weaker_option
def demo_command(assignment_name, data, no_training, workdir, allow_weaker_isolation) -> None:
    """Pack the reference solution, grade it in the sandbox, and show the result (should be full marks)."""
    from autograder.grading.run import grade_zip
    from autograder.reports.terminal import render_result
    from autograder.student.pack import pack

    assignment = _assignment(assignment_name)
    _preflight_or_exit(assignment.limits, allow_weaker_isolation)
    zip_path = pack(assignment, assignment.reference_dir, workdir / "reference_submit.zip", unrun_notebook=True).path
    options = _run_options(assignment, data, no_training, parallel=2, progress=_progress_printer(),
                           artifacts_dir=workdir / "artifacts", allow_weaker_isolation=allow_weaker_isolation)
    click.echo(f"packed the reference solution into {zip_path}; grading it (data: {options.data or assignment.data.default}) ...")
    result = _guarded(lambda: grade_zip(zip_path, assignment, options))
    (workdir / "reference_result.json").write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    click.echo(render_result(result))
    click.echo(f"result document: {workdir / 'reference_result.json'}")
    for name, path in result.artifacts.items():
        click.echo(f"{name}: {path}")
    sys.exit(_exit_code(result))


@main.command("generate")
@assignment_option
@click.option("--check", is_flag=True, help="Only verify student_template/ is in sync with reference/ (exit 1 if not).")
@click.option("--zip-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the students' release zip into this folder.")  # fmt: skip
def generate_command(assignment_name, check, zip_dir) -> None:
    """Write student_template/<assignment>/ from reference/, solution regions stripped.

    Without -a (and with several assignments), every assignment: `grade generate --check` then
    proves the whole student_template/ is in sync.
    """
    from autograder.authoring.generate import build_release_zip, generate_template, template_drift
    from autograder.authoring.markers import AuthoringError

    chosen = assignment_name or default_assignment()
    names = [chosen] if chosen else available_assignments()
    out_of_sync = []
    for name in names:
        assignment = _assignment(name)
        try:
            if check:
                drift = template_drift(assignment)
                for line in drift:
                    click.echo(f"  {assignment.id}: out of date: {line}", err=True)
                if drift:
                    out_of_sync.append(assignment.id)
                else:
                    click.echo(f"{assignment.template_dir} is in sync with reference/")
                continue
            report = generate_template(assignment)
            click.echo(f"wrote {assignment.template_dir}: {len(report.files)} files, {len(report.changed)} changed, "
                       f"{len(report.removed)} removed, {len(report.stubs)} solution regions stubbed")  # fmt: skip
            if zip_dir:
                click.echo(f"release zip: {build_release_zip(assignment, zip_dir)}")
        except AuthoringError as exc:
            raise click.ClickException(str(exc)) from exc
    if out_of_sync:
        raise click.ClickException(f"student_template/ is out of sync with reference/ for {', '.join(out_of_sync)} "
                                   f"— run `grade generate -a {out_of_sync[0]}`")  # fmt: skip


@main.command("validate")
@assignment_option
def validate_command(assignment_name) -> None:
    """Check the assignment's declaration: every name its assignment.toml refers to (files, probes,
    expects, judges, driver tasks, generators, groups, data targets, notebook settings) exists.

    One line per problem, naming the file and the key; exit 1 when there is any. `grade generate`
    and every grading command run the same checks when they load the assignment.
    """
    from autograder.validation import problems

    name = assignment_name or default_assignment()
    if name is None:
        raise click.ClickException(f"several assignments ({', '.join(available_assignments())}): "
                                   "name one with -a/--assignment")  # fmt: skip
    try:
        assignment = load_assignment(name, validate=False)
    except AssignmentError as exc:
        raise click.ClickException(str(exc)) from exc
    found = problems(assignment)
    for line in found:
        click.echo(line, err=True)
    if found:
        raise click.ClickException(f"{len(found)} problem(s) in {assignment.root / 'assignment.toml'}")
    cases = sum(len(q.cases) for q in assignment.questions)
    sources = ", ".join(assignment.data.sources) or "none declared"
    click.echo(f"{assignment.id}: ok ({len(assignment.questions)} questions, {cases} public cases; data sources: "
               f"{sources}; training groups: {', '.join(assignment.training_groups) or 'none'})")


@main.command("calibrate-limits")
@assignment_option
@data_option
@no_training_option
@click.option("--force", is_flag=True, help="Measure every group again, even if this machine has figures.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), envvar="AUTOGRADER_CACHE_DIR",
              default=None, help="Where the figures live (default: the user's cache folder). Env: AUTOGRADER_CACHE_DIR.")
def calibrate_limits_command(assignment_name, data, no_training, force, cache_dir) -> None:
    """Measure the reference solution's CPU time per question on this machine, and show the time limits.

    \b
    Time limits are CPU seconds, as in IOI's isolate and DOMjudge: a case may use the assignment's
    [time_limits] `multiple` of the reference's CPU time for the same cases (at least `floor_s`);
    the wall clock only stops code that waits. Grading measures missing figures by itself, once
    per machine (CPU model, cores, BLAS) and code version; run this to do it up front (e.g. before
    a batch) or, with --force, after changing the machine's BLAS.
    """
    from autograder.grading.run import calibrate_limits

    assignment = _assignment(assignment_name)
    options = _run_options(assignment, data, no_training, progress=_progress_printer(), cache_dir=cache_dir)
    rows = _guarded(lambda: calibrate_limits(assignment, options, force=force))
    if not rows:
        raise click.ClickException(f"{assignment.id} declares no [time_limits]: its fixed [limits] apply")
    click.echo(f"{'question':<10} {'group':<10} {'BLAS':>4} {'reference CPU s':>16} {'CPU limit s':>12} {'wall limit s':>13}")
    for row in rows:
        cost = f"{row.reference_cpu_s:.3f}" if row.reference_cpu_s is not None else "failed"
        click.echo(f"{row.question:<10} {row.group:<10} {row.blas_threads:>4} {cost:>16} "
                   f"{row.limit.cpu_s:>12.1f} {row.limit.wall_s:>13.1f}")  # fmt: skip


@main.command("batch")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@assignment_option
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes on this machine (default: one per core).")  # fmt: skip
@click.option("--gradebook", "gradebook_url", default="gradebook.sqlite", show_default=True,
              envvar="INTRO2AI_GRADEBOOK", help="SQLite file or SQLAlchemy URL. Env: INTRO2AI_GRADEBOOK.")  # fmt: skip
@click.option("--seed", type=int, default=None,
              help="Seed for the whole class's hidden cases (default: random, printed). Reuse it to resume.")  # fmt: skip
@data_option
@no_training_option
@click.option("-q", "--question", "only", multiple=True, help="Grade only these question ids (repeatable).")
@click.option("--no-notebook", is_flag=True, help="Do not execute the submitted notebooks.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:8786", help="Grade on this Dask cluster.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Grade on a new local Dask cluster of N worker processes.")  # fmt: skip
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write each result document (and batch-summary.json) here.")  # fmt: skip
@allow_weaker_option
def batch_command(folder, assignment_name, jobs, gradebook_url, seed, data, no_training, only, no_notebook,
                  scheduler, workers, results_dir, allow_weaker_isolation) -> None:  # fmt: skip
    """Grade every submission in FOLDER: a Canvas or Moodle bulk download (unzipped) or <student id>.zip files.

    Results go to the gradebook as they arrive; a submission already there with the same content,
    assignment version and seed is skipped, so re-running with the same --seed resumes a batch.
    A preflight run checks the sandbox before anyone is graded (on every Dask worker too). A
    submission the grader failed on is an internal fault: no attempt is recorded, so the next
    run grades it. Exit code 4 when the preflight failed or any submission hit an internal
    fault, 130 when interrupted.
    """
    import contextlib
    import secrets

    from autograder.course import batch
    from autograder.course.gradebook import open_gradebook

    if scheduler and workers:
        raise click.UsageError("give --scheduler or --workers, not both")
    if jobs and (scheduler or workers):
        raise click.UsageError("-j sets local worker processes; with Dask, size the cluster instead")
    assignment = _assignment(assignment_name)
    unknown = sorted(set(only) - {q.id for q in assignment.questions})
    if unknown:
        raise click.BadParameter(f"no question {', '.join(unknown)} in {assignment.id}", param_hint="-q/--question")
    seed = secrets.randbelow(2**31) if seed is None else seed
    artifacts = results_dir / "artifacts" if results_dir and not no_notebook and not scheduler else None
    options = _run_options(assignment, data, no_training, seed=seed, only=tuple(only), run_notebook=not no_notebook,
                           artifacts_dir=artifacts, allow_weaker_isolation=allow_weaker_isolation)  # fmt: skip
    settings = batch.WorkerSettings(str(assignment.root), options)  # a path: workers load it wherever it lives
    if not (scheduler or workers):
        _preflight_or_exit(assignment.limits, allow_weaker_isolation)
    with open_gradebook(gradebook_url) as gradebook:
        report = batch.plan_batch(folder, assignment, gradebook, settings, results_dir)
        click.echo(f"seed {seed} (re-run with --seed {seed} to resume); {len(report.pending)} to grade, "
                   f"{len(report.outcomes)} already graded, {len(report.folder.unmapped)} unmapped")  # fmt: skip
        with contextlib.ExitStack() as stack:
            if scheduler or workers:
                try:
                    client = stack.enter_context(batch.dask_client(scheduler, workers))
                except OSError as exc:
                    raise click.ClickException(f"cannot reach the Dask scheduler {scheduler}: {exc}") from exc
                failures = batch.preflight_cluster(client, settings)
                if failures:
                    click.echo(f"Error: nothing graded: {failures[0]}" + (f" (and {len(failures) - 1} more "
                               "workers)" if len(failures) > 1 else ""), err=True)  # fmt: skip
                    sys.exit(EXIT_INTERNAL)
                backend = batch.dask_backend(client)
            else:
                backend = batch.local_pool(jobs or batch.usable_cores())
            bar = stack.enter_context(click.progressbar(length=len(report.pending), label="grading", file=sys.stderr,
                                                        show_pos=True, show_eta=True))  # fmt: skip
            batch.run_batch(report, assignment, gradebook, backend, results_dir, on_outcome=lambda _: bar.update(1))
    click.echo(batch.summary_text(report))
    if report.interrupted:
        sys.exit(130)
    sys.exit(EXIT_INTERNAL if report.counts()["fault"] else EXIT_OK)


# ---------------------------------------------------------------- student self-check (autograder/selfcheck.py)


@main.command("check")
@click.argument("working_copy", type=click.Path(exists=True, file_okay=False, path_type=Path), default=".")
@click.option("-a", "--assignment", "assignment_name", default=None,
              help="Assignment id (default: the one the starter code's public_expected.npz names).")  # fmt: skip
@click.option("--with-training", is_flag=True,
              help="Also run the training cases here, to see that they finish in time (their accuracy "
                   "targets are checked after submission).")  # fmt: skip
@data_option
def check_command(working_copy, assignment_name, with_training, data) -> None:
    """Run the public checks on your WORKING_COPY (the starter-code folder holding intro2ai/).

    Same inputs, code and tolerances as the grader, run on your machine without a sandbox.
    Hidden cases are graded after submission. Exit code 0 when the checks ran, whatever they
    found; 1 when they could not run (the reason is printed).
    """
    from autograder.student.selfcheck import LOCAL, SelfCheckError, check_working_copy, render_check

    _preflight_or_exit(Limits(), False, LOCAL)  # the local runner: no sandbox to allow or refuse

    def run():
        try:
            assignment = load_assignment(assignment_name) if assignment_name else None
            return check_working_copy(working_copy, assignment, with_training, data, _progress_printer())
        except (SelfCheckError, AssignmentError) as exc:
            raise click.ClickException(str(exc)) from exc

    click.echo(render_check(_guarded(run)))


# ---------------------------------------------------------------- staff: gradebook exports, manual grades, pages


class AwareDateTime(click.ParamType):
    """An ISO date-time with a timezone (late days must not depend on the grader's clock zone)."""

    name = "DATETIME"

    def convert(self, value, param, ctx):
        from datetime import datetime

        if isinstance(value, datetime):
            return value
        try:
            when = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO date-time such as 2026-11-25T23:59+09:00", param, ctx)
        if when.tzinfo is None:
            self.fail(f"{value!r} has no timezone: write it like {value}+09:00", param, ctx)
        return when


staff_gradebook_option = click.option(
    "--gradebook", "gradebook_url", default="gradebook.sqlite", show_default=True, envvar="INTRO2AI_GRADEBOOK",
    help="SQLite file or SQLAlchemy URL (as for `grade batch`). Env: INTRO2AI_GRADEBOOK.",
)  # fmt: skip
POLICY_OPTIONS = (
    click.option("--policy", "pick", type=click.Choice(["latest", "best"]), default="latest", show_default=True,
                 help="Which attempt counts."),
    click.option("--due", type=AwareDateTime(), default=None, help="Due date, e.g. 2026-11-25T23:59+09:00."),
    click.option("--penalty-per-day", type=click.FloatRange(0, 1), default=0.0, show_default=True,
                 help="Fraction of the points lost per day started after --due."),
    click.option("--cutoff", type=AwareDateTime(), default=None, help="Attempts submitted after this do not count."),
)  # fmt: skip


def policy_options(command):
    for option in reversed(POLICY_OPTIONS):
        command = option(command)
    return command


def _counted_scores(gradebook_url: str, assignment_id: str, pick, due, penalty_per_day, cutoff):
    """The counted grades under the policy; a missing or unreadable gradebook is a one-line refusal."""
    from autograder.course.gradebook import Policy

    try:
        policy = Policy(pick, due, penalty_per_day, cutoff)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    scores = _with_gradebook(gradebook_url, lambda gradebook: gradebook.counted_scores(assignment_id, policy))
    if not scores:
        raise click.ClickException(f"no attempts at {assignment_id} in the gradebook {gradebook_url}")
    return scores


def _with_gradebook(gradebook_url: str, action):
    from sqlalchemy.exc import SQLAlchemyError

    from autograder.course.gradebook import open_gradebook

    if "://" not in gradebook_url and not Path(gradebook_url).is_file():
        raise click.ClickException(f"no gradebook at {gradebook_url} (record grades with `grade batch`, or give --gradebook)")
    try:
        with open_gradebook(gradebook_url) as gradebook:
            return action(gradebook)
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["unknown error"])[0]
        raise click.ClickException(f"cannot use the gradebook {gradebook_url}: {reason}") from exc


def _warn(warnings) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def _missing_grades(gradebook_url: str, assignment_id: str) -> list:
    """Submissions the grader failed on and no later run graded; each is named on stderr."""
    missing = _with_gradebook(gradebook_url, lambda gradebook: gradebook.missing_grades(assignment_id))
    _warn(f"student {m.student!r}: no grade for their submission {m.sha256[:12]} (internal fault: {m.message}); "
          "run `grade batch` again to grade it" for m in missing)  # fmt: skip
    return missing


@main.command("export")
@staff_gradebook_option
@click.option("--format", "fmt", type=click.Choice(["canvas", "moodle", "blackboard", "gradescope", "csv"]),
              required=True, help="The LMS import format (the registry in autograder/reports/exports.py).")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="File to write (gradescope: a folder, one results.json-style file per student).")  # fmt: skip
@assignment_option
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The LMS's own grade/roster export, to match students (required for canvas; any layout "
                   "Canvas exports: comma or semicolon, Student or LastName/FirstName).")  # fmt: skip
@click.option("--column-id", default=None, help="Canvas assignment id (required for canvas) or Blackboard column id.")
@click.option("--title", default=None, help="Grade column title (default: the assignment's title).")
@click.option("--identifier", type=click.Choice(["idnumber", "email", "participant"]), default="idnumber",
              show_default=True, help="Moodle: the identifier column to write; 'participant' writes the "
              "assignment's grading worksheet, for students graded from a Moodle bulk download.")  # fmt: skip
@click.option("--delimiter", type=click.Choice(["tab", "comma"]), default="tab", show_default=True,
              help="Blackboard: tab-delimited UTF-16 .xls (recommended) or comma-separated UTF-8 .csv.")  # fmt: skip
@click.option("--scale-to", type=click.FloatRange(min=0, min_open=True), default=None, metavar="POINTS",
              help="canvas/moodle/blackboard: write each grade as a share of POINTS, the LMS column's maximum "
                   "(e.g. 100 for Moodle, whose import refuses grades above 100). Recorded in the file name.")  # fmt: skip
@policy_options
def export_command(gradebook_url, fmt, output, assignment_name, roster, column_id, title, identifier, delimiter,
                   scale_to, pick, due, penalty_per_day, cutoff) -> None:  # fmt: skip
    """Write the gradebook's counted grades as an LMS import file and summarise it.

    An LMS file has rows only for students with a grade: a roster student with no submission,
    or one whose grading failed, is left out so the LMS keeps their current grade (never a blank
    or a 0); the plain csv lists everyone, with an empty total for no grade. The summary (stdout) gives rows written, students skipped and why, students with no grade
    and the scale; warnings go to stderr. Gradescope files follow the assignment's [visibility].
    """
    import csv

    from autograder.reports.exports import EXPORTERS, ExportRequest, export
    from autograder.reports.tabular import Scale, fmt_points

    exporter = EXPORTERS[fmt]
    given = {"roster": roster, "column_id": column_id}
    if any(given[need] is None for need in exporter.needs):
        flags = " and ".join(f"--{need.replace('_', '-')}" for need in exporter.needs)
        raise click.UsageError(f"--format {fmt} needs {flags}")
    if scale_to is not None and not exporter.scaled:
        scaled = ", ".join(name for name, e in EXPORTERS.items() if e.scaled)
        raise click.UsageError(f"--scale-to applies to {scaled}, not {fmt}")
    assignment = _assignment(assignment_name)
    if scale_to is not None:
        output = output.with_name(f"{output.stem}.scaled-to-{fmt_points(scale_to)}{output.suffix}")
    scores = _counted_scores(gradebook_url, assignment.id, pick, due, penalty_per_day, cutoff)
    request = ExportRequest(output, scores, title or assignment.title, assignment.visibility, Scale(scale_to), roster,
                            column_id, identifier, delimiter)  # fmt: skip
    try:
        report = export(fmt, request)
    except (ValueError, UnicodeError, csv.Error, OSError) as exc:
        raise click.ClickException(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
    _warn(report.warnings)
    missing = _missing_grades(gradebook_url, assignment.id)
    click.echo(report.summary()
               + (f"; {len(missing)} student(s) missing a grade after an internal fault" if missing else ""))  # fmt: skip


@main.command("manual")
@click.argument("scores_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@staff_gradebook_option
@assignment_option
@click.option("--grader", required=True, help="Your name, recorded with every grade.")
def manual_command(scores_csv, gradebook_url, assignment_name, grader) -> None:
    """Import manual scores and comments from SCORES_CSV, all or nothing.

    Columns: student,item,score[,comment]. An item is a manual item id (e.g. filter_visualisation)
    or a question id (its score then replaces the engine's); an empty score records only the comment.
    """
    import csv

    assignment = _assignment(assignment_name)

    def apply(gradebook):
        try:
            return gradebook.import_manual_csv(scores_csv, assignment.id, grader)
        except (UnicodeError, csv.Error) as exc:
            raise click.ClickException(f"{scores_csv}: not a readable UTF-8 CSV ({exc})") from exc

    report = _with_gradebook(gradebook_url, apply)
    if not report.ok:
        for error in report.errors:
            click.echo(f"  {error}", err=True)
        raise click.ClickException(f"nothing imported: {len(report.errors)} problem(s) in {scores_csv}")
    click.echo(f"imported {report.applied} manual grade(s) from {scores_csv} (grader {grader})")


@main.command("report")
@staff_gradebook_option
@assignment_option
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the pages.")  # fmt: skip
@click.option("--published", is_flag=True,
              help="Grades are published: show what the assignment's [visibility] keeps until then "
                   "(after_published), e.g. the inputs of hidden cases.")  # fmt: skip
@policy_options
def report_command(gradebook_url, assignment_name, out_dir, published, pick, due, penalty_per_day, cutoff) -> None:
    """Write each student's feedback page and the class summary (index.html) into OUTPUT.

    Pages follow the assignment's [visibility] table: what is shown `after_due_date` appears
    once --due (or the table's `due`) has passed, `after_published` only with --published.
    """
    from autograder.reports.html import write_class_summary, write_feedback_pages

    assignment = _assignment(assignment_name)
    scores = _counted_scores(gradebook_url, assignment.id, pick, due, penalty_per_day, cutoff)
    _warn(f"student {s.student!r}: no attempt counts ({s.status}); no page" for s in scores if s.result is None)
    results = [s.result for s in scores if s.result is not None]
    shown = assignment.visibility.shown(due, published)
    missing = _missing_grades(gradebook_url, assignment.id)
    try:
        pages = write_feedback_pages(results, out_dir, shown, assignment.curves)
        summary = write_class_summary(results, out_dir / "index.html", missing)
    except OSError as exc:
        raise click.ClickException(f"cannot write into {out_dir}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {len(pages)} feedback page(s) and the class summary {summary}")
    if shown.note:
        click.echo(shown.note)


@main.command("similarity")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@assignment_option
@click.option("--public", "public_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of public solutions (.py / .ipynb, any depth) to compare every student with.")  # fmt: skip
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for similarity.html and similarity.csv.")  # fmt: skip
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Pairs at or above this score get side-by-side fragments in the HTML report.")  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="At most this many pairs with fragments.")  # fmt: skip
def similarity_command(folder, assignment_name, public_dir, out_dir, threshold, limit) -> None:
    """Compare every pair of submissions in FOLDER (a bulk download or <id>.zip files), function by
    function, and each one with the public solutions in --public.

    \b
    Renamed variables, reformatting, new comments and reordered functions do not hide a copy; the
    template's given code is left out. Writes a ranked HTML report with the shared fragments side
    by side, and a CSV. A high score is a reason to read the code, not a verdict.
    """
    from autograder.course.similarity import compare_class, write_csv, write_html

    report = compare_class(_assignment(assignment_name), folder, public_dir)
    _warn(f"skipped {who}: {why}" for who, why in report.skipped)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        html = write_html(report, out_dir / "similarity.html", threshold, limit)
        table = write_csv(report, out_dir / "similarity.csv")
    except OSError as exc:
        raise click.ClickException(f"cannot write into {out_dir}: {exc.strerror or exc}") from exc
    for rank, pair in enumerate(report.pairs[:10], 1):
        click.echo(f"{rank:3d}  {pair.score:.2f}  {pair.left} ~ {pair.right} ({pair.kind})")
    flagged = len(report.above(threshold))
    click.echo(f"{len(report.students)} students, {len(report.pairs)} pair(s) with shared code, {flagged} at or "
               f"above {threshold:g}: {html}, {table}")  # fmt: skip


@main.command("audit")
@assignment_option
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the resumable state and audit.md (default: audit-<assignment>/).")  # fmt: skip
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Mutants graded at the same time (each in its own sandbox).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the hidden cases every mutant meets.")
@no_training_option
@click.option("-q", "--question", "questions", multiple=True, help="Grade only these questions (repeatable).")
@click.option("--function", "functions", multiple=True, help="Mutate only this function (repeatable).")
@click.option("--operator", "operators", multiple=True, metavar="PREFIX",
              help="Only operators whose name starts with PREFIX: 'dl/' (deep-learning), 'core/' (cosmic-ray).")  # fmt: skip
@click.option("--list", "list_only", is_flag=True, help="List the mutants and stop.")
def audit_command(assignment_name, out_dir, jobs, seed, no_training, questions, functions, operators,
                  list_only) -> None:  # fmt: skip
    """Mutate the reference's solution regions and grade every mutant with the assignment's own
    checks in the sandbox: which planted bugs the checks catch, per function.

    \b
    A mutant is killed when it scores below the unmutated reference. Each surviving mutant is
    printed with its diff: either a gap in the hidden cases, or equivalent to the reference (then
    list its id and why in assignments/<id>/audit.toml). Interrupted audits resume.
    Exit code 0 when the score is at least 95 %, 1 otherwise.
    """
    from autograder.authoring.audit import (
        AuditError,
        AuditScope,
        mutants_of,
        run_audit,
        write_markdown,
    )

    assignment = _assignment(assignment_name)
    skipped = _run_options(assignment, no_training=no_training).skip_groups
    scope = AuditScope(seed, skipped, tuple(questions), tuple(functions), tuple(operators))
    if list_only:
        for mutant in mutants_of(assignment, scope):
            click.echo(f"{mutant.id}  {mutant.file}:{mutant.line}  {mutant.function}  {mutant.operator}")
        return
    out_dir = out_dir or Path(f"audit-{assignment.id}")
    _preflight_or_exit(assignment.limits, False)
    with click.progressbar(length=1, label="grading mutants") as bar:
        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        try:
            report = _guarded(lambda: run_audit(assignment, out_dir, scope, jobs, progress))
        except AuditError as exc:
            raise click.ClickException(str(exc)) from exc
    path = write_markdown(report, out_dir / "audit.md")
    for (file, function), row in sorted(report.by_function().items()):
        click.echo(f"{file:>10} {function:<28} killed {row['killed']:3d}  survived {row['survived']:3d}  "
                   f"equivalent {row['equivalent']:3d}  {report.score([row]):6.1%}")  # fmt: skip
    click.echo(f"mutation score {report.score():.1%} ({len(report.outcomes)} of {len(report.mutants)} mutants graded, "
               f"{report.graded_now} now); survivors and diffs: {path}")  # fmt: skip
    if report.faults:
        click.echo(f"the grader failed on {len(report.faults)} mutant(s) (not counted); run the same command again "
                   "to grade them", err=True)  # fmt: skip
        sys.exit(EXIT_INTERNAL)
    sys.exit(0 if report.score() >= AUDIT_TARGET else 1)


@main.command("gradescope-bundle")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="Where to write the zip to upload to Gradescope.")  # fmt: skip
@assignment_option
@data_option
@no_training_option
@click.option("-q", "--question", "only", multiple=True, help="Grade only these question ids (repeatable).")
@click.option("--no-notebook", is_flag=True, help="Do not execute the submitted notebook.")
@allow_weaker_option
def gradescope_bundle_command(output, assignment_name, data, no_training, only, no_notebook,
                              allow_weaker_isolation) -> None:  # fmt: skip
    """Build Gradescope's autograder.zip: setup.sh, run_autograder and a copy of this grader.

    The options chosen here apply to every submission graded on Gradescope. Each run there starts
    with the preflight; when it fails the submission gets no score and a message for the staff.
    """
    from autograder.reports.gradescope_bundle import build_bundle

    assignment = _assignment(assignment_name)
    unknown = sorted(set(only) - {q.id for q in assignment.questions})
    if unknown:
        raise click.BadParameter(f"no question {', '.join(unknown)} in {assignment.id}", param_hint="-q/--question")
    options = _run_options(assignment, data, no_training, only=tuple(only), parallel=2, run_notebook=not no_notebook,
                           allow_weaker_isolation=allow_weaker_isolation)  # fmt: skip
    try:
        path = build_bundle(output, assignment.id, options)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {path}: upload it as the autograder of a Gradescope programming assignment")


# ---------------------------------------------------------------- LTI 1.3 grade passback (autograder/lti/, docs/lms.md)


key_dir_option = click.option(
    "--key-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_KEY_DIR,
    show_default=True, envvar="INTRO2AI_LTI_KEYS",
    help="Folder of the tool's private key (outside any repository). Env: INTRO2AI_LTI_KEYS.",
)  # fmt: skip
platform_file_type = click.Path(exists=True, dir_okay=False, path_type=Path)


@main.group("lti")
def lti_group() -> None:
    """Send counted grades straight into Canvas, Moodle or Blackboard (LTI 1.3 Advantage AGS).

    \b
    Once per tool:    grade lti keys                  register the JWKS it prints on the LMS
    Once per course:  write platform.toml             its six fields: docs/lms.md
                      grade lti check platform.toml   the file, the key and a token
    After grading:    grade lti publish --platform platform.toml --roster roster.csv --dry-run
                      grade lti publish --platform platform.toml --roster roster.csv
    """


@lti_group.command("keys")
@key_dir_option
@click.option("--format", "fmt", type=click.Choice(["jwks", "jwk", "pem"]), default="jwks", show_default=True,
              help="jwks: the key set (host it for Blackboard's 'Tool JWKS URL'); jwk: the one key (Canvas's "
                   "'Public JWK'); pem: the public key (Moodle's 'RSA key').")  # fmt: skip
def lti_keys_command(key_dir, fmt) -> None:
    """Create the tool's RSA key pair once (private key mode 0600) and print its public JWKS."""
    from autograder.reports.lti.keys import ToolKeyError, ensure_key

    try:
        key, created = ensure_key(key_dir)
    except (ToolKeyError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    printed = {"jwks": lambda: json.dumps(key.jwks(), indent=2), "jwk": lambda: json.dumps(key.public_jwk(), indent=2),
               "pem": lambda: key.public_pem().rstrip()}  # fmt: skip
    click.echo(printed[fmt]())
    click.echo(f"{'created' if created else 'existing'} private key {key.path} (kid {key.kid}); "
               f"the public part is also in {key.path.parent / 'jwks.json'}", err=True)  # fmt: skip


def _lti_client(platform_file: Path, key_dir: Path, timeout: float = 30.0, retries: int = 5):
    """An AGS client for the platform file and tool key; bad input is a one-line refusal per problem."""
    from autograder.reports.lti.ags import AgsClient, HttpSettings
    from autograder.reports.lti.keys import ToolKeyError, load_key
    from autograder.reports.lti.platform import PlatformFileError, read_platform

    try:
        platform = read_platform(platform_file)
        key = load_key(key_dir)
    except PlatformFileError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"fix the {len(exc.problems)} problem(s) above in {platform_file}") from exc
    except ToolKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    return AgsClient(platform, key, HttpSettings(timeout_s=timeout, retries=retries))


@lti_group.command("check")
@click.argument("platform_file", type=platform_file_type)
@key_dir_option
def lti_check_command(platform_file, key_dir) -> None:
    """Check PLATFORM_FILE, the tool key, the platform's JWKS and a token grant; change nothing."""
    from autograder.reports.lti.ags import PlatformError

    with _lti_client(platform_file, key_dir) as client:
        try:
            keys = client.platform_key_count()
            client.connect()
        except PlatformError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{platform_file}: ok ({keys} platform key(s); token granted for the line item and score scopes)")


@lti_group.command("publish")
@click.option("--platform", "platform_file", type=platform_file_type, required=True,
              help="The course's platform file (docs/lms.md).")  # fmt: skip
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="CSV with an 'LTI User ID' column and the gradebook's student ids in --match-column.")  # fmt: skip
@click.option("--match-column", default="student", show_default=True, help="Roster column holding gradebook ids.")
@staff_gradebook_option
@assignment_option
@key_dir_option
@click.option("--title", default=None, help="Column title if it must be created (default: the assignment's title).")
@click.option("--dry-run", is_flag=True, help="Look the column up and show what would be sent; create and send nothing.")
@click.option("--allow-ungraded-manual", is_flag=True,
              help="Also send totals whose manual items are not graded yet (they count 0 until graded).")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds to wait for each answer before retrying.")  # fmt: skip
@click.option("--retries", type=click.IntRange(0, 10), default=5, show_default=True,
              help="Retries on 429/5xx/timeouts (backoff doubles; Retry-After is honoured).")  # fmt: skip
@policy_options
def lti_publish_command(platform_file, roster, match_column, gradebook_url, assignment_name, key_dir, title, dry_run,
                        allow_ungraded_manual, timeout, retries, pick, due, penalty_per_day, cutoff) -> None:  # fmt: skip
    """Send each student's counted grade (policy, late penalty and manual items applied) to the
    assignment's LMS column, creating the column only if the LMS has none yet.

    Only attempts with status 'graded' are grades: ungradable, faulted and after-cutoff ones are
    skipped, never sent as 0. What the LMS accepted is recorded in the gradebook, so a rerun
    sends only unsent and changed scores. Exit 0 when nothing failed; 1 when a score was not
    sent (rerun the same command to resume).
    """
    from autograder.course.roster import lti_user_ids
    from autograder.reports.lti.ags import PlatformError
    from autograder.reports.lti.publish import plan_scores, publish, render_report

    assignment = _assignment(assignment_name)
    scores = _counted_scores(gradebook_url, assignment.id, pick, due, penalty_per_day, cutoff)
    try:
        users = lti_user_ids([s.student for s in scores], roster, match_column)
    except (ValueError, UnicodeError, OSError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from exc
    _warn(users.warnings)
    planned = plan_scores(scores, users.ids, allow_ungraded_manual)
    with _lti_client(platform_file, key_dir, timeout, retries) as client:
        def run():
            try:
                client.connect()
                return _with_gradebook(gradebook_url, lambda gradebook: publish(
                    client, gradebook, assignment.id, title or assignment.title, planned, dry_run))
            except PlatformError as exc:
                raise click.ClickException(str(exc)) from exc

        report = _guarded(run)
    _warn(report.warnings)
    click.echo(render_report(report))
    failed = report.count("failed")
    if failed:
        raise click.ClickException(f"{failed} of {len(report.outcomes)} score(s) not sent (see the table): "
                                   f"rerun the same command to send them")  # fmt: skip


@main.command("doctor")
@assignment_option
@allow_weaker_option
def doctor_command(assignment_name, allow_weaker_isolation) -> None:
    """Show this host's sandbox: bubblewrap and user namespaces, the uid drop, cgroups, the runtime
    and what of it the sandbox binds, the BLAS numpy loads there, and the preflight's verdict.

    Exit code 0 when the preflight passes (grading can start), 4 when it fails.
    """
    from autograder.doctor import diagnose, render

    diagnosis = diagnose(_assignment(assignment_name).limits, allow_weaker_isolation)
    click.echo(render(diagnosis))
    sys.exit(EXIT_OK if diagnosis.ok else EXIT_INTERNAL)

"""The `grade` command line: parses options, calls one function per command, prints, exits.

Exit codes: 0 graded (any score) or command succeeded, 1 refused with a one-line reason (fix the
input), 2 usage error, 3 ungradable submission, 4 internal fault (a bug in the grader: report it).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import click

from autograder.assignment import AssignmentError, available_assignments, load_assignment

EXIT_OK, EXIT_UNGRADABLE, EXIT_INTERNAL = 0, 3, 4
DEFAULT_ASSIGNMENT = "hw5_cnn"


class GradeGroup(click.Group):
    """`grade submit.zip` is shorthand for `grade zip submit.zip`."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and args[0].endswith(".zip"):
            args = ["zip", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=GradeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="intro2ai-autograder")
def main() -> None:
    """Sandboxed autograder for the intro2ai (cs231n-based) numpy homework.

    \b
    Typical use:
      grade submit.zip                      grade one student's zip (HW5 by default)
      grade submit.zip --json result.json   ... and keep the full result
      grade generate                        rebuild student_template/ from reference/
      grade demo                            build the reference zip and grade it end to end

    \b
    Exit codes: 0 graded (any score) / success, 1 refused with a one-line
                reason, 2 usage error, 3 ungradable submission, 4 internal fault.
    """


def _assignment(name: str):
    try:
        return load_assignment(name)
    except AssignmentError as exc:
        raise click.BadParameter(str(exc), param_hint="--assignment") from exc


assignment_option = click.option(
    "-a", "--assignment", "assignment_name", default=DEFAULT_ASSIGNMENT, show_default=True,
    help=f"Assignment id under assignments/ (known: {', '.join(available_assignments()) or 'none'}).",
)  # fmt: skip
data_option = click.option(
    "--data", envvar="INTRO2AI_DATA", default=None, metavar="SOURCE",
    help="Training data: 'embedded' (default, made by the project), 'cifar10' (folder in "
         "INTRO2AI_CIFAR_DIR) or a path to a cifar-10-batches-py folder. Env: INTRO2AI_DATA.",
)  # fmt: skip


@main.command("zip")
@click.argument("submission", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@assignment_option
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the result document here.")
@click.option("--seed", type=int, default=None, help="Seed for hidden cases (recorded; reuse it to regrade exactly).")
@data_option
@click.option("--no-training", is_flag=True, help="Leave out the 1-epoch training target (fast checks only).")
@click.option("-q", "--question", "only", multiple=True, help="Grade only these question ids (repeatable).")
@click.option("--student", default=None, help="Student id to record in the result.")
@click.option("--artifacts", "artifacts_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Save the executed notebook (.ipynb) and its HTML rendering in this folder.")  # fmt: skip
@click.option("--no-notebook", is_flag=True, help="Do not execute the submitted notebook.")
def grade_zip_command(submission, assignment_name, json_path, seed, data, no_training, only, student, artifacts_dir,
                      no_notebook) -> None:  # fmt: skip
    """Grade one student's SUBMISSION zip in the sandbox and print a score table."""
    from autograder.grade import GradeOptions, grade_zip
    from autograder.reports.terminal import render_result

    assignment = _assignment(assignment_name)
    options = GradeOptions(seed=seed, data=data, only=tuple(only), skip_groups=("train",) if no_training else (),
                           parallel=2, student=student, progress=_progress_printer(), artifacts_dir=artifacts_dir,
                           run_notebook=not no_notebook)  # fmt: skip
    result = _guarded(lambda: grade_zip(submission, assignment, options))
    if json_path:
        json_path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    click.echo(render_result(result))
    sys.exit(EXIT_UNGRADABLE if result["status"] == "ungradable" else EXIT_OK)


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
    from autograder.pack import PackError, pack

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
@click.option("--no-training", is_flag=True, help="Leave out the training target.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("grader-work"),
              show_default=True, help="Where the demo writes the zip and the result.")  # fmt: skip
def demo_command(assignment_name, data, no_training, workdir) -> None:
    """Pack the reference solution, grade it in the sandbox, and show the result (should be full marks)."""
    from autograder.grade import GradeOptions, grade_zip
    from autograder.pack import pack
    from autograder.reports.terminal import render_result

    assignment = _assignment(assignment_name)
    zip_path = pack(assignment, assignment.reference_dir, workdir / "reference_submit.zip", require_notebook=False).path
    click.echo(f"packed the reference solution into {zip_path}; grading it (data: {data or assignment.data_default}) ...")
    options = GradeOptions(data=data, skip_groups=("train",) if no_training else (), parallel=2,
                           progress=_progress_printer())  # fmt: skip
    result = _guarded(lambda: grade_zip(zip_path, assignment, options))
    (workdir / "reference_result.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    click.echo(render_result(result))
    click.echo(f"result document: {workdir / 'reference_result.json'}")
    sys.exit(EXIT_UNGRADABLE if result["status"] == "ungradable" else EXIT_OK)


@main.command("generate")
@assignment_option
@click.option("--check", is_flag=True, help="Only verify student_template/ is in sync with reference/ (exit 1 if not).")
@click.option("--zip-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the students' release zip into this folder.")  # fmt: skip
def generate_command(assignment_name, check, zip_dir) -> None:
    """Write student_template/<assignment>/ from reference/, solution regions stripped."""
    from autograder.authoring.generate import build_release_zip, generate_template, template_drift
    from autograder.authoring.markers import AuthoringError

    assignment = _assignment(assignment_name)
    try:
        if check:
            drift = template_drift(assignment)
            for line in drift:
                click.echo(f"  out of date: {line}", err=True)
            if drift:
                raise click.ClickException(f"{assignment.template_dir} is out of sync with reference/ — run `grade generate`")
            click.echo(f"{assignment.template_dir} is in sync with reference/")
            return
        report = generate_template(assignment)
        click.echo(f"wrote {assignment.template_dir}: {len(report.files)} files, {len(report.changed)} changed, "
                   f"{len(report.removed)} removed, {len(report.stubs)} solution regions stubbed")  # fmt: skip
        if zip_dir:
            click.echo(f"release zip: {build_release_zip(assignment, zip_dir)}")
    except AuthoringError as exc:
        raise click.ClickException(str(exc)) from exc

"""The `grade` command line: parses options, calls one function per command, prints, exits.

Exit codes: 0 graded (any score) or command succeeded, 2 usage error, 3 ungradable submission,
4 internal fault (a bug in the grader: please report it).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import click

from autograder.assignment import AssignmentError, available_assignments, load_assignment

EXIT_OK, EXIT_USAGE, EXIT_UNGRADABLE, EXIT_INTERNAL = 0, 2, 3, 4
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
    Exit codes: 0 graded (any score) / success, 2 usage error,
                3 ungradable submission, 4 internal fault.
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
def grade_zip_command(submission, assignment_name, json_path, seed, data, no_training, only, student) -> None:
    """Grade one student's SUBMISSION zip in the sandbox and print a score table."""
    from autograder.grade import GradeOptions, grade_zip
    from autograder.reports.terminal import render_result

    assignment = _assignment(assignment_name)
    options = GradeOptions(seed=seed, data=data, only=tuple(only), skip_groups=("train",) if no_training else (),
                           parallel=2, student=student, progress=_progress_printer())  # fmt: skip
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

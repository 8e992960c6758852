"""The notebook run's cost against executing the same cells in one plain Python process.

Three figures, measured in one run on the reference solution's notebook and files:

* graded: `grade_zip` on a zip of the reference's graded files and notebook, with only the
  smallest question besides the notebook; its `notebook.elapsed_s` is the sandboxed nbclient run
  (kernel start-up included) and the total is the whole grading call.
* plain: the notebook's code cells run by `exec` in one fresh `python` process, in a copy of the
  template package with the reference's files on top, with the grader's environment
  (INTRO2AI_DATA=embedded, INTRO2AI_MAX_TRAIN from the assignment's [notebook] env, the Agg backend,
  the notebook sandbox's BLAS threads);
  IPython magics (`%...`) are left out, and the cell times are summed.
* kernel: an ipykernel started and stopped by nbclient on an empty notebook (start-up), and
  per-cell overhead from 20 `pass` cells.

Target (issue 11): graded notebook elapsed <= 1.5x the plain run. On a shared machine the wall
times of two runs minutes apart see different loads, so the load average is printed with each,
and the plain run's CPU seconds beside its wall time (the sandbox's own CPU time is not visible
from here: its processes are not this process's waited-for children).

    python benchmarks/bench_notebook.py

`run(table)` appends (name, value, unit, target) rows for benchmarks/run_all.py.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from autograder.assignment import (  # noqa: E402
    Assignment,
    load_assignment,
    notebook_settings,  # noqa: E402
)
from autograder.grading.run import RunOptions, grade_zip  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_grading import graded_files, print_table, reference_zip  # noqa: E402

Row = tuple[str, float, str, str]
TARGET = 1.5

# Runs in the child: exec each cell's code in one namespace, report the seconds of each.
PLAIN_RUNNER = """
import json, sys, time
cells = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
times = []
for source in cells:
    start = time.perf_counter()
    exec(compile(source, "<cell>", "exec"), namespace)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def code_cells(notebook: Path) -> list[str]:
    """Code cell sources without IPython magic lines."""
    nb = nbformat.read(notebook, as_version=4)
    return ["\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]  # fmt: skip


def children_cpu() -> float:
    """User + system seconds of this process's waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def graded_run(assignment: Assignment, tmp: Path) -> tuple[float, dict]:
    """(wall seconds of the grading call, the notebook section)."""
    zip_path = reference_zip(assignment, tmp / "submit.zip")
    smallest = assignment.questions[0].id
    start = time.perf_counter()
    result = grade_zip(zip_path, assignment, RunOptions(seed=1, only=(smallest,))).to_json()
    return time.perf_counter() - start, result["notebook"]


def plain_run(assignment: Assignment, tmp: Path, max_train: int, blas_threads: int) -> tuple[list[float], float]:
    """(seconds of each cell, CPU seconds of the whole python process)."""
    work = tmp / "plain"
    shutil.copytree(assignment.template_dir, work, ignore=shutil.ignore_patterns("__pycache__", "build"))
    for path, name in graded_files(assignment):
        dest = next((work / s.dest for s in assignment.files if s.name == name), work / name)
        shutil.copyfile(path, dest)
    (work / "cells.json").write_text(json.dumps(code_cells(work / "HW5.ipynb")), encoding="utf-8")
    (work / "runner.py").write_text(PLAIN_RUNNER, encoding="utf-8")
    threads = str(blas_threads)
    env = {**os.environ, "INTRO2AI_DATA": "embedded", "INTRO2AI_MAX_TRAIN": str(max_train), "MPLBACKEND": "Agg",
           "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    cpu = children_cpu()
    out = subprocess.run([sys.executable, "runner.py", "cells.json"], cwd=work, env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1]), children_cpu() - cpu


def kernel_costs(cells: int = 40) -> tuple[float, float]:
    """(seconds to start and stop a kernel around one `pass` cell, seconds per extra `pass` cell);
    the better of two runs each."""
    def run(count: int) -> float:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass") for _ in range(count)])
        start = time.perf_counter()
        NotebookClient(nb, kernel_name="python3").execute()
        return time.perf_counter() - start

    one = min(run(1), run(1))
    return one, (min(run(cells + 1), run(cells + 1)) - one) / cells


def run(table: list[Row]) -> None:
    assignment = load_assignment("hw5_cnn")
    settings = notebook_settings(assignment)
    with tempfile.TemporaryDirectory() as tmp:
        total, section = graded_run(assignment, Path(tmp))
        graded_load = os.getloadavg()[0]
        blas_threads = assignment.limits.with_overrides(**settings.limits).blas_threads  # as the sandbox has
        plain, plain_cpu = plain_run(assignment, Path(tmp), int(settings.env["INTRO2AI_MAX_TRAIN"]), blas_threads)
        plain_load = os.getloadavg()[0]
    startup, per_cell = kernel_costs()
    graded = section["elapsed_s"]
    table.append((f"notebook graded in the sandbox ({section['status']})", graded, "s", f"load {graded_load:.1f}"))
    table.append(("  grading call (notebook + smallest question)", total, "s", ""))
    table.append((f"same {len(plain)} cells in one plain python", sum(plain), "s", f"load {plain_load:.1f}"))
    table.append(("  its CPU (user + system)", plain_cpu, "s", ""))
    table.append(("  slowest plain cell", max(plain), "s", ""))
    table.append(("notebook ratio graded / plain (wall)", graded / sum(plain), "x", f"<= {TARGET:g}"))
    table.append(("kernel start + stop (nbclient, 1 cell)", startup, "s", ""))
    table.append(("kernel per-cell overhead", per_cell * 1000, "ms", ""))
    table.append(("  INTRO2AI_MAX_TRAIN (embedded images in the notebook)", settings.env["INTRO2AI_MAX_TRAIN"], "images", ""))


if __name__ == "__main__":
    rows: list[Row] = []
    run(rows)
    print_table(rows)

"""Template generation: a tiny fake assignment in tmp_path, then the real hw5_cnn template."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.archive import ZIP_DATE_TIME
from autograder.authoring.generate import (
    build_release_zip,
    generate_template,
    is_local_product,
    render_template,
    template_drift,
)
from autograder.authoring.markers import END_BANNER, START_BANNER, AuthoringError, scan

# ------------------------------------------------------------------ a tiny fake assignment

CORE = f'''"""Given code and one exercise."""


def given(x):
    return x + 1


def exercise(x):
    out = None
    {START_BANNER}
    out = x * 1234567
    {END_BANNER}
    return out
'''


@dataclass(frozen=True)
class FakeAssignment:
    id: str
    title: str
    version: str
    package: str
    repo_root: Path
    reference_dir: Path
    template_dir: Path
    release_files: tuple[str, ...]
    release_notebooks: tuple[str, ...]
    release_zip: str
    release_given: tuple[str, ...] = ()


@pytest.fixture
def fake(tmp_path: Path) -> FakeAssignment:
    reference = tmp_path / "reference"
    (reference / "pkg" / "sub").mkdir(parents=True)
    (reference / "pkg" / "__init__.py").write_text('"""pkg."""\n')
    (reference / "pkg" / "core.py").write_text(CORE)
    (reference / "pkg" / "sub" / "helper.py").write_text("VALUE = 3\n")
    (reference / "pkg" / "setup.py").write_text("# build the extension\n")
    (reference / "pkg" / "data.bin").write_bytes(bytes(range(256)))
    (reference / "pkg" / "not_released.py").write_text("SECRET = 1\n")
    nb = new_notebook(
        cells=[new_markdown_cell("# 과제"), new_code_cell(f"{START_BANNER}\nz = 99\n{END_BANNER}")]
    )
    (reference / "HW.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    return FakeAssignment(
        id="hw0",
        title="HW0: tiny",
        version="1",
        package="pkg",
        repo_root=tmp_path,
        reference_dir=reference,
        template_dir=tmp_path / "student_template" / "hw0",
        release_files=(
            "pkg/__init__.py",
            "pkg/core.py",
            "pkg/setup.py",
            "pkg/data.bin",
            "pkg/sub/*.py",
        ),
        release_notebooks=("HW.ipynb",),
        release_zip="hw0_student.zip",
    )


def test_generate_writes_stripped_copied_and_readme(fake: FakeAssignment) -> None:
    report = generate_template(fake)
    target = fake.template_dir
    assert report.files == (
        "HW.ipynb",
        "README.md",
        "pkg/__init__.py",
        "pkg/core.py",
        "pkg/data.bin",
        "pkg/setup.py",
        "pkg/sub/helper.py",
    )
    assert report.changed == report.files and report.removed == ()
    assert report.stubs == ("HW.ipynb cell 2:1 cell 2", "pkg/core.py:10 exercise")
    core = (target / "pkg" / "core.py").read_text()
    assert "1234567" not in core and START_BANNER in core and "def given" in core
    assert (target / "pkg" / "data.bin").read_bytes() == bytes(range(256))
    assert not (target / "pkg" / "not_released.py").exists()
    assert "z = 99" not in (target / "HW.ipynb").read_text(encoding="utf-8")
    readme = (target / "README.md").read_text(encoding="utf-8")
    assert "grade check" in readme and "grade pack" in readme and "setup.py build_ext" in readme
    assert "제출" in readme


def test_regenerating_changes_nothing(fake: FakeAssignment) -> None:
    generate_template(fake)
    before = {p: p.read_bytes() for p in fake.template_dir.rglob("*") if p.is_file()}
    again = generate_template(fake)
    assert again.changed == () and again.removed == ()
    assert {p: p.read_bytes() for p in fake.template_dir.rglob("*") if p.is_file()} == before


def test_drift_and_stale_files(fake: FakeAssignment) -> None:
    assert "missing: pkg/core.py" in template_drift(fake)
    generate_template(fake)
    assert template_drift(fake) == []
    target = fake.template_dir
    (target / "pkg" / "old.py").write_text("x = 1\n")
    (target / "pkg" / "__pycache__").mkdir()
    (target / "pkg" / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"\0")
    (target / "pkg" / "setup.py").write_text("edited\n")
    (target / "README.md").unlink()
    assert template_drift(fake) == [
        "missing: README.md",
        "differs: pkg/setup.py",
        "stale: pkg/old.py",
    ]
    report = generate_template(fake)
    assert report.removed == ("pkg/old.py",)
    assert set(report.changed) == {"README.md", "pkg/setup.py"}
    assert (target / "pkg" / "__pycache__" / "core.cpython-311.pyc").exists()
    assert template_drift(fake) == []


def test_reference_change_is_drift(fake: FakeAssignment) -> None:
    generate_template(fake)
    (fake.reference_dir / "pkg" / "sub" / "helper.py").write_text("VALUE = 4\n")
    assert template_drift(fake) == ["differs: pkg/sub/helper.py"]


def test_release_zip_is_deterministic(fake: FakeAssignment, tmp_path: Path) -> None:
    first = build_release_zip(fake, tmp_path / "a")
    second = build_release_zip(fake, tmp_path / "b")
    assert first.name == "hw0_student.zip"
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        assert names == sorted(names) and names[0] == "hw0/HW.ipynb"
        assert {info.date_time for info in archive.infolist()} == {ZIP_DATE_TIME}
        assert archive.read("hw0/pkg/core.py") == render_template(fake).files["pkg/core.py"]


def test_authoring_errors(fake: FakeAssignment) -> None:
    with pytest.raises(AuthoringError, match="matches no file"):
        render_template(replace(fake, release_files=("pkg/missing.py",)))
    (fake.reference_dir / "pkg" / "notes.txt").write_text(f"{START_BANNER}\nanswer\n{END_BANNER}\n")
    with pytest.raises(AuthoringError, match="would ship") as caught:
        render_template(replace(fake, release_files=("pkg/notes.txt",)))
    assert (caught.value.path, caught.value.line) == ("pkg/notes.txt", 1)
    for target in (fake.reference_dir, fake.repo_root, fake.reference_dir / "pkg"):
        with pytest.raises(AuthoringError, match="overlaps"):
            generate_template(replace(fake, template_dir=target))
    (fake.reference_dir / "README.md").write_text("mine\n")
    with pytest.raises(AuthoringError, match="README"):
        render_template(replace(fake, release_files=("README.md",)))


# ------------------------------------------------------------------ the real hw5_cnn template

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def hw5():
    from autograder.assignment import load_assignment

    return load_assignment("hw5_cnn")


def test_committed_template_is_in_sync(hw5) -> None:
    assert template_drift(hw5) == []


def test_generate_check_without_an_assignment_checks_every_template() -> None:
    """`make demo` runs `grade generate --check` without -a: every homework's committed template
    must be in sync (HW6 and HW8 copy HW5's given code, so a change there drifts them too)."""
    from click.testing import CliRunner

    from autograder.assignment import available_assignments
    from autograder.cli import main

    result = CliRunner().invoke(main, ["generate", "--check"])
    assert result.exit_code == 0, result.output
    for name in available_assignments():
        assert f"student_template/{name} is in sync" in result.output


def test_hw5_regenerating_changes_nothing(hw5, tmp_path: Path) -> None:
    spec = replace(hw5, template_dir=tmp_path / "hw5_cnn")
    first = generate_template(spec)
    assert first.changed == first.files
    second = generate_template(spec)
    assert second.changed == () and second.removed == ()
    assert (
        build_release_zip(spec, tmp_path / "a").read_bytes()
        == build_release_zip(spec, tmp_path / "b").read_bytes()
    )


PLAIN_RETURN = re.compile(r"return( \w+(, \w+)*)?")


def _solution_lines(hw5) -> set[str]:
    """Lines of the reference's solution regions that could give the solution away."""
    solution, given = set(), set()
    for path in sorted(hw5.reference_dir.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = [line.strip() for line in text.split("\n")]
        inside = set()
        for region in scan(text, str(path)):
            inside.update(range(region.start, region.end - 1))
            solution.update(line.strip() for line in region.body)
        given.update(line for number, line in enumerate(lines) if number not in inside)
    return {
        line
        for line in solution - given  # a line that is also given code elsewhere gives nothing away
        if len(line.replace(" ", "")) >= 10 and not PLAIN_RETURN.fullmatch(line)
    }


def _shipped_lines(path: Path) -> set[str]:
    """The stripped lines a template file shows a student (notebook cells' source lines)."""
    if path.suffix == ".ipynb":
        text = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    else:
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:  # binary (public_expected.npz): arrays, not source lines
            return set()
    return {line.strip() for line in text.split("\n")}


def test_no_solution_line_in_the_template(hw5) -> None:
    solution = _solution_lines(hw5)
    assert len(solution) > 20  # the reference really has solution regions
    files = [
        p
        for p in sorted(hw5.template_dir.rglob("*"))
        if p.is_file() and not is_local_product(p.relative_to(hw5.template_dir).as_posix())
    ]
    assert len(files) == len(render_template(hw5).files)
    for path in files:
        leaked = solution & _shipped_lines(path)
        assert not leaked, f"{path.relative_to(REPO)} ships solution lines {sorted(leaked)}"


TEMPLATE_PROBE = textwrap.dedent(
    """
    import importlib, inspect, json, pkgutil, sys
    from unittest import mock
    import numpy as np

    template, stubs = sys.argv[1], json.loads(sys.argv[2])
    sys.path.insert(0, template)
    import intro2ai
    assert intro2ai.__file__.startswith(template), intro2ai.__file__
    for info in pkgutil.walk_packages(intro2ai.__path__, "intro2ai."):
        if info.name != "intro2ai.setup":  # a build script, not a module
            importlib.import_module(info.name)

    # given code works: fast layers against a direct numpy computation
    from intro2ai.fast_layers import conv_forward_fast, max_pool_forward_fast
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.empty((2, 4, 5, 5))
    for i in range(5):
        for j in range(5):
            expected[:, :, i, j] = np.einsum("nchw,fchw->nf", xp[:, :, i:i + 3, j:j + 3], w) + b
    out, _ = conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    assert np.allclose(out, expected), "conv_forward_fast"
    pooled, _ = max_pool_forward_fast(x[:, :, :4, :4], {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert np.allclose(pooled, x[:, :, :4, :4].reshape(2, 3, 2, 2, 2, 2).max(axis=(3, 5))), "max_pool"

    from intro2ai.solver import Solver
    class Linear:
        params = {"W": np.zeros((3, 2))}
        def loss(self, X, y=None):
            return 0.0, {"W": np.zeros((3, 2))}
    data = {"X_train": np.zeros((4, 3)), "y_train": np.zeros(4, int),
            "X_val": np.zeros((2, 3)), "y_val": np.zeros(2, int)}
    solver = Solver(Linear(), data, num_epochs=1, batch_size=2, verbose=False)
    assert solver.model.params["W"].shape == (3, 2)

    # every stub fails clearly, whatever it is called with
    failures = {}
    for module_name, qualname in stubs:
        target = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
        params = inspect.signature(target).parameters.values()
        args = [mock.MagicMock() for p in params if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
        try:
            target(*args)
            failures[qualname] = "returned"
        except NotImplementedError as error:
            if "not implemented" not in str(error):
                failures[qualname] = str(error)
        except Exception as error:
            failures[qualname] = repr(error)
    print(json.dumps({"stubs": len(stubs), "failures": failures}))
    """
)


def test_template_imports_given_code_works_and_stubs_fail(hw5, tmp_path: Path) -> None:
    report = render_template(hw5)
    stubs = []
    for stub in report.stubs:
        location, qualname = stub.split(" ", 1)
        path = location.split(":")[0]
        if path.endswith(".py"):
            stubs.append((path[: -len(".py")].replace("/", "."), qualname))
    assert len(stubs) >= 6
    result = subprocess.run(
        [sys.executable, "-B", "-c", TEMPLATE_PROBE, str(hw5.template_dir), json.dumps(stubs)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"stubs": len(stubs), "failures": {}}


def _printed(nb: nbformat.NotebookNode) -> dict[int, str]:
    """stdout of every code cell that printed something, by cell index; errors fail the test."""
    printed = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [output for output in cell.outputs if output.output_type == "error"]
        assert not errors, f"cell {index + 1}: {errors[0].ename}: {errors[0].evalue}"
        text = "".join(
            o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"
        )
        if text:
            printed[index] = text
    return printed


async def _execute_both(notebooks: list[nbformat.NotebookNode], folder: Path) -> None:
    from nbclient import NotebookClient

    clients = [
        NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        )
        for nb in notebooks
    ]
    await asyncio.gather(*(client.async_execute() for client in clients))


def test_student_notebook_prints_what_the_reference_prints(
    hw5, tmp_path: Path, monkeypatch
) -> None:
    """The generated notebook, run on the reference package, prints the same check numbers as
    the reference notebook (both executed here, concurrently, on a 200-image training set)."""
    reference = nbformat.read(hw5.reference_dir / "HW5.ipynb", as_version=4)
    student = nbformat.read(hw5.template_dir / "HW5.ipynb", as_version=4)
    assert [c.source for c in student.cells if c.cell_type == "code"] == [
        c.source for c in reference.cells if c.cell_type == "code"
    ]
    for name, value in {
        "PYTHONPATH": str(hw5.reference_dir),
        "INTRO2AI_DATA": "embedded",
        "INTRO2AI_MAX_TRAIN": "200",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    asyncio.run(_execute_both([reference, student], tmp_path))
    expected, printed = _printed(reference), _printed(student)
    assert len(expected) >= 12  # conv/pool/sandwich checks, loss, gradients, overfit, training
    assert "Testing conv_forward_naive" in "".join(expected.values())
    assert printed == expected


def _perturbed_public_data(hw5, relative: float) -> bytes:
    """The committed public_expected.npz with every float expected array scaled by (1 + relative)."""
    from autograder.authoring.public_data import _write_archive
    from autograder.student.selfcheck import PUBLIC_EXPECTED, parse_public_data

    data = parse_public_data((hw5.template_dir / PUBLIC_EXPECTED).read_bytes())
    expected_keys = {key for entry in data.manifest["cases"] for key in entry.get("expected", {}).values()}
    arrays = {key: value * (1 + relative) if key in expected_keys and value.dtype.kind == "f" else value
              for key, value in data.arrays.items()}  # fmt: skip
    return _write_archive(data.manifest, arrays)


def test_public_expected_tolerates_last_bit_differences_but_not_real_ones(hw5) -> None:
    """Another machine's BLAS changes the reference outputs in their last bits: still in sync.
    A difference a student's verdict could notice (a tenth of a case's threshold) is drift."""
    from autograder.authoring.public_data import same_public_data
    from autograder.student.selfcheck import PUBLIC_EXPECTED

    committed = (hw5.template_dir / PUBLIC_EXPECTED).read_bytes()
    assert same_public_data(committed, _perturbed_public_data(hw5, 1e-15), hw5)
    assert not same_public_data(committed, _perturbed_public_data(hw5, 1e-7), hw5)
    assert not same_public_data(committed, b"not a zip", hw5)


def test_symlinked_given_code_is_released_as_the_file_it_names(fake: FakeAssignment) -> None:
    """One source of truth: a homework's reference may link given code from another's."""
    shared = fake.repo_root / "other_reference"
    shared.mkdir()
    (shared / "helper.py").write_text("SHARED = 1\n")
    (fake.reference_dir / "pkg" / "shared.py").symlink_to("../../other_reference/helper.py")
    rendered = render_template(replace(fake, release_files=(*fake.release_files, "pkg/shared.py")))
    assert rendered.files["pkg/shared.py"] == b"SHARED = 1\n"
    zip_path = build_release_zip(replace(fake, release_files=("pkg/shared.py",)), fake.repo_root / "dist")
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.read("hw0/pkg/shared.py") == b"SHARED = 1\n"


def test_a_symlink_leaving_the_repository_is_refused(fake: FakeAssignment, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "secret.py"
    outside.write_text("KEY = 1\n")
    (fake.reference_dir / "pkg" / "leak.py").symlink_to(outside)
    with pytest.raises(AuthoringError, match="outside the reference folder"):
        render_template(replace(fake, release_files=("pkg/leak.py",)))


def test_given_files_ship_their_solution_without_markers(fake: FakeAssignment) -> None:
    rendered = render_template(replace(fake, release_given=("pkg/core.py",)))
    text = rendered.files["pkg/core.py"].decode()
    assert "x * 1234567" in text and START_BANNER not in text and END_BANNER not in text
    assert not any(stub.startswith("pkg/core.py") for stub in rendered.stubs)
    assert any(stub.startswith("HW.ipynb") for stub in rendered.stubs)  # the rest is stripped as before

"""Authoring step: generate: renders student_template/<hw>/ from reference/ and the [release] list; builds the release zip.

Everything is rendered in memory first (`render_template`), so writing the template, checking
it for drift and zipping it all see the same bytes, and running it twice changes nothing.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from autograder.archive import write_zip
from autograder.authoring.markers import AuthoringError, scan, strip_python
from autograder.authoring.notebooks import student_notebook
from autograder.authoring.public_data import public_expected_files, same_public_data
from autograder.student.selfcheck import PUBLIC_EXPECTED

# Local build products in a template folder: neither stale nor drift (they are git-ignored too).
LOCAL_PRODUCTS = ("__pycache__", "*.pyc", "*.so", "*.c", "*.pyd", "build", ".ipynb_checkpoints")
README = "README.md"


class ReleaseSpec(Protocol):
    """The parts of an `Assignment` that generation reads."""

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
    release_given: tuple[str, ...]  # patterns of release_files shipped with their solutions (markers removed)


@dataclass(frozen=True)
class Rendered:
    """The student template in memory: relative posix path -> bytes, and where stubs went."""

    files: dict[str, bytes]
    stubs: tuple[str, ...]  # "intro2ai/layers.py:42 conv_forward_naive", "HW5.ipynb cell 7"


@dataclass(frozen=True)
class GenerateReport:
    """What `generate_template` did."""

    template_dir: Path
    files: tuple[str, ...]  # every file of the template
    changed: tuple[str, ...]  # written because new or different
    removed: tuple[str, ...]  # stale files deleted
    stubs: tuple[str, ...]


def _release_sources(spec: ReleaseSpec) -> list[str]:
    """The reference files to release (posix paths relative to reference_dir), sorted."""
    root = spec.reference_dir.resolve()
    repo = spec.repo_root.resolve()
    found: set[str] = set()
    for pattern in (*spec.release_files, *spec.release_notebooks):
        matches = [
            path
            for path in root.glob(pattern)
            if path.is_file() and "__pycache__" not in path.parts
        ]
        if not matches:
            raise AuthoringError(
                spec.reference_dir / pattern, None, "release entry matches no file"
            )
        for path in matches:
            # A symlink may share given code with another homework's reference (one source of
            # truth); it is released as the file it names, under its own path.
            if not path.is_relative_to(root) or not path.resolve().is_relative_to(repo):
                raise AuthoringError(
                    pattern, None, "release entry points outside the reference folder"
                )
            found.add(path.relative_to(root).as_posix())
    return sorted(found)


def _decode(data: bytes, rel: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AuthoringError(rel, None, f"not UTF-8 text: {error}") from None


def _given_text(rel: str, data: bytes) -> bytes:
    """A file released whole: an earlier homework's solution that this one gives (markers removed)."""
    text = _decode(data, rel)
    marker_lines = {line for region in scan(text, rel) for line in (region.start, region.end)}
    lines = text.split("\n")
    return "\n".join(line for n, line in enumerate(lines, 1) if n not in marker_lines).encode("utf-8")


def _render_file(rel: str, data: bytes, given: bool = False) -> tuple[bytes, list[str]]:
    """The student version of one reference file, and a description of each stub in it."""
    if given:
        return _given_text(rel, data), []
    if rel.endswith(".py"):
        stripped = strip_python(_decode(data, rel), rel)
        stubs = [f"{rel}:{region.start} {region.qualname}" for region in stripped.regions]
        return stripped.text.encode("utf-8"), stubs
    if rel.endswith(".ipynb"):
        text, report = student_notebook(_decode(data, rel), rel)
        stubs = [
            f"{rel} cell {cell}:{region.start} {region.qualname}" for cell, region in report.regions
        ]
        stubs += [f"{rel} cell {cell} (whole cell)" for cell in report.stub_cells]
        return text.encode("utf-8"), stubs
    try:
        regions = scan(data.decode("utf-8"), rel)
    except UnicodeDecodeError:
        regions = []  # binary files cannot hold markers
    if regions:
        raise AuthoringError(
            rel, regions[0].start, "solution markers outside a .py file or notebook would ship"
        )
    return data, []


def _readme(spec: ReleaseSpec, files: list[str]) -> bytes:
    """Short bilingual instructions for students."""
    build = f"{spec.package}/setup.py" in files
    notebooks = ", ".join(f"`{name}`" for name in spec.release_notebooks) or "the notebook"
    lines = [
        f"# {spec.title} (version {spec.version})",
        "",
        "Student starter code, generated from the course reference by `grade generate`.",
        "수업 참조 코드에서 `grade generate`로 자동 생성한 학생용 시작 코드입니다.",
        "",
    ]
    if build:
        lines += [
            f"- Optional, for speed, build the Cython extension once: "
            f"`cd {spec.package} && python setup.py build_ext --inplace`",
            f"  (선택, 속도 향상) Cython 확장을 한 번 빌드하세요: "
            f"`cd {spec.package} && python setup.py build_ext --inplace`",
        ]
    lines += [
        f"- Open {notebooks} in Jupyter and write your code between the `START OF YOUR CODE` / "
        "`END OF YOUR CODE` lines of the files it names.",
        f"  Jupyter에서 {notebooks}을(를) 열고, 안내된 파일의 `START OF YOUR CODE` / "
        "`END OF YOUR CODE` 줄 사이에 코드를 작성하세요.",
        "- In this folder, `grade check` runs the public checks on your code and `grade pack` "
        "makes the zip to submit.",
        "  이 폴더에서 `grade check`로 공개 검사를 실행하고, `grade pack`으로 제출할 zip 파일을 만드세요.",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def render_template(spec: ReleaseSpec) -> Rendered:
    """The whole student template in memory (nothing is written)."""
    files: dict[str, bytes] = {}
    stubs: list[str] = []
    sources = _release_sources(spec)
    for rel in sources:
        is_given = any(fnmatch.fnmatch(rel, pattern) for pattern in spec.release_given)
        files[rel], file_stubs = _render_file(rel, (spec.reference_dir / rel).read_bytes(), is_given)
        stubs += file_stubs
    if README in files:
        raise AuthoringError(
            spec.reference_dir / README,
            None,
            "the template README is generated; do not release one",
        )
    files[README] = _readme(spec, sources)
    files.update(public_expected_files(spec, files))  # `grade check` data: autograder/selfcheck.py
    return Rendered(dict(sorted(files.items())), tuple(stubs))


def is_local_product(rel: str) -> bool:
    return any(
        fnmatch.fnmatch(part, pattern) for part in rel.split("/") for pattern in LOCAL_PRODUCTS
    )


def _existing_files(folder: Path) -> list[str]:
    """Files now in the template folder, minus local build products."""
    if not folder.is_dir():
        return []
    found = (path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())
    return sorted(rel for rel in found if not is_local_product(rel))


def _check_target(spec: ReleaseSpec) -> Path:
    """Refuse a template folder whose stale-file cleanup could delete the reference or the repo."""
    target = spec.template_dir.resolve()
    reference = spec.reference_dir.resolve()
    repo = spec.repo_root.resolve()
    if (
        target in (reference, *reference.parents, repo, *repo.parents)
        or reference in target.parents
    ):
        raise AuthoringError(
            spec.template_dir, None, "template folder overlaps the reference or the repository root"
        )
    return target


def generate_template(spec: ReleaseSpec) -> GenerateReport:
    """Write the student template: changed files rewritten, stale files removed."""
    target = _check_target(spec)
    rendered = render_template(spec)
    changed = []
    for rel, data in rendered.files.items():
        path = target / rel
        if not path.is_file() or not _in_sync(spec, rel, path.read_bytes(), data):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            changed.append(rel)
    removed = [rel for rel in _existing_files(target) if rel not in rendered.files]
    for rel in removed:
        (target / rel).unlink()
    for folder in sorted(target.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return GenerateReport(
        spec.template_dir, tuple(rendered.files), tuple(changed), tuple(removed), rendered.stubs
    )


def _in_sync(spec: ReleaseSpec, rel: str, on_disk: bytes, rendered: bytes) -> bool:
    """Byte-equal, or for the public expected values equal up to the last bits of the machine's BLAS."""
    if on_disk == rendered:
        return True
    return rel == PUBLIC_EXPECTED and same_public_data(on_disk, rendered, spec)


def template_drift(spec: ReleaseSpec) -> list[str]:
    """How the template on disk differs from what generation would write; empty when in sync."""
    rendered = render_template(spec)
    target = spec.template_dir
    drift = []
    for rel, data in rendered.files.items():
        path = target / rel
        if not path.is_file():
            drift.append(f"missing: {rel}")
        elif not _in_sync(spec, rel, path.read_bytes(), data):
            drift.append(f"differs: {rel}")
    drift += [f"stale: {rel}" for rel in _existing_files(target) if rel not in rendered.files]
    return drift


def build_release_zip(spec: ReleaseSpec, out_dir: Path) -> Path:
    """The students' zip (`<id>/...` entries): sorted, fixed timestamps and modes, same bytes each time."""
    entries = {f"{spec.id}/{rel}": data for rel, data in render_template(spec).files.items()}
    return write_zip(out_dir / spec.release_zip, entries)

"""Adversarial corpus (issue 5): students who attack the grader, graded end to end.

Each folder in `cases/` is one attack. `layers.py` / `cnn.py` there are appended to the reference
file of that name (the attack redefines a graded function, or runs at import), files under
`extra/` go into the zip with their `.attack` suffix dropped (so that pytest never loads a planted
`conftest.py` itself), and `expect.toml` says what must come out:

- `attack`: one line; `questions`: per question `status` (one or a list), `score` (0, "full" when
  the attack must have no effect, or "any") and optionally `message` and per-case expectations;
  `control`: the untouched question that must be graded normally;
- `limits`, `skip_groups`, `omit` (files left out of the zip), `runs` (grade the zip N times),
  `listener` (open a loopback port for `@PORT@`), `secrets` (a stealing attack: check the
  feedback for reference text and expected values), `ignored` (zip members intake must ignore),
  `fallback` (also run without bubblewrap), `printable` (no control characters in any message),
  `max_seconds`, `xfail` (a known, reported hole);
- hostile zips instead name a `zip` builder and the document `status`/`message`.

Every case asserts: the grader finishes in bounded time, the result is a valid JSON document,
the statuses and scores are as expected, no line of feedback starts with ESCAPED (attacks print
that when they succeed) and no grader secret shows, no file appears outside the work folder,
and no sandbox process is left behind.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import re
import secrets
import shutil
import socket
import struct
import sys
import sysconfig
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from zipfactory import Entry, bomb_entry, build_zip, zip_of

import autograder.grading.run as grade_module
from autograder.assignment import Assignment, load_assignment
from autograder.authoring.generate import generate_template
from autograder.grading.result import SCHEMA_VERSION
from autograder.grading.run import MAX_RUNS_PER_GROUP, RunOptions, grade_zip
from autograder.sandbox import command as command_module
from autograder.sandbox.command import UNPRIVILEGED_UID_BASE, bwrap_path, probe_bwrap

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

CASES_DIR = Path(__file__).parent / "cases"
REPO = Path(__file__).resolve().parents[2]
LAYERS, CNN = "intro2ai/layers.py", "intro2ai/classifiers/cnn.py"
ATTACK_FILES = {"layers.py": LAYERS, "cnn.py": CNN}
SEED = 11
MiB = 1 << 20
MESSAGE_CAP = 4000  # characters: an explained error, a hint and the count of other failures
DEFAULT_LIMITS = {"timeout_s": 2.0}
SANDBOX_UIDS = range(UNPRIVILEGED_UID_BASE, 65001)
ESCAPE_LINE = re.compile(r"^ESCAPED", re.MULTILINE)
MARKED_NAMES = re.compile(r"pwned|^results?\.json$", re.IGNORECASE)
ENV_TOKEN = "envtoken-" + secrets.token_hex(8)
DECOY_TOKEN = "decoytoken-" + secrets.token_hex(8)
QUESTION_STATUSES = {"passed", "failed", "partial", "error", "timeout", "memory", "not_implemented", "ungradable"}
DOCUMENT_KEYS = {"schema", "assignment", "submission", "sha256", "status", "message", "score", "max_score",
                 "seed", "sandbox", "started_at", "duration_s", "files", "questions", "manual"}  # fmt: skip


@dataclass(frozen=True)
class AttackCase:
    name: str
    folder: Path
    spec: dict[str, Any]

    @property
    def questions(self) -> dict[str, dict[str, Any]]:
        return self.spec.get("questions", {})

    @property
    def limits(self) -> dict[str, Any]:
        return {**DEFAULT_LIMITS, **self.spec.get("limits", {})}

    @property
    def max_seconds(self) -> float:
        """Generous but finite: every group may be relaunched after a hang, each up to its timeout."""
        per_run = self.limits["timeout_s"] + 3.0
        return self.spec.get("max_seconds", 20.0 + len(self.questions) * MAX_RUNS_PER_GROUP * per_run)


def load_cases() -> list[AttackCase]:
    return [
        AttackCase(folder.name, folder, tomllib.loads((folder / "expect.toml").read_text(encoding="utf-8")))
        for folder in sorted(CASES_DIR.iterdir())
        if (folder / "expect.toml").is_file()
    ]


CASES = load_cases()


def _param(case: AttackCase):
    marks = [pytest.mark.xfail(strict=True, reason=case.spec["xfail"])] if "xfail" in case.spec else []
    return pytest.param(case, id=case.name, marks=marks)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def hw5(tmp_path_factory) -> Assignment:
    """HW5 with the committed student template, or a private freshly generated one."""
    assignment = load_assignment("hw5_cnn")
    if (assignment.template_dir / assignment.package / "layers.py").is_file():
        return assignment
    private = dataclasses.replace(assignment, template_dir=tmp_path_factory.mktemp("template"))
    generate_template(private)
    return private


@pytest.fixture(scope="session")
def stolen_goods(hw5) -> list[str]:
    """Text a stealing attack must never get out: expected outputs and unreleased solution code."""
    checks = hw5.checks()
    public = hw5.question("Q1").cases[0]
    inputs = checks.conv_inputs(public.params, np.random.default_rng(0), None)
    expected = checks.expect_conv_forward(inputs, public.params, None)["out"]
    template_cnn = (hw5.template_dir / CNN).read_text(encoding="utf-8")
    solution = [
        line.strip() for line in (hw5.reference_dir / CNN).read_text(encoding="utf-8").splitlines()
        if len(line.strip()) > 30 and not line.strip().startswith("#") and line.strip() not in template_cnn
    ]  # fmt: skip
    assert solution, "the reference cnn.py should hold solution lines the template does not"
    return [repr(float(v)) for v in expected.ravel()[:4]] + solution[:8]


@pytest.fixture
def used_uids(monkeypatch) -> set[int]:
    """The sandbox uids the engine hands out during the test (one per slot)."""
    seen: set[int] = set()
    real = grade_module.sandbox_uid

    def recording(slot: int) -> int | None:
        uid = real(slot)
        if uid is not None:
            seen.add(uid)
        return uid

    monkeypatch.setattr(grade_module, "sandbox_uid", recording)
    return seen


@pytest.fixture
def decoy():
    """Another student's submission as the grader leaves it in /tmp, readable by anyone."""
    folder = Path(tempfile.mkdtemp(prefix="grade-advdecoy-", dir="/tmp"))
    target = folder / "intake" / LAYERS
    target.parent.mkdir(parents=True)
    target.write_text(f"# {DECOY_TOKEN}\ndef conv_forward_naive(x, w, b, conv_param):\n    pass\n")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- building the zips


def reference_sources(hw5: Assignment) -> dict[str, bytes]:
    return {rel: (hw5.reference_dir / rel).read_bytes() for rel in (LAYERS, CNN)}


def attack_zip(case: AttackCase, hw5: Assignment, dest: Path, port: int | None) -> Path:
    if "zip" in case.spec:
        BUILDERS[case.spec["zip"]](dest, reference_sources(hw5), hw5)
        return dest
    files: dict[str, bytes] = {}
    omitted = set(case.spec.get("omit", ()))
    for name, rel in ATTACK_FILES.items():
        if name in omitted:
            continue
        text = (hw5.reference_dir / rel).read_text(encoding="utf-8")
        patch = case.folder / name
        if patch.is_file():
            attack = patch.read_text(encoding="utf-8").replace("@PORT@", str(port))
            text += f"\n\n# ---------------- attack: {case.name}\n{attack}"
        files[rel] = text.encode("utf-8")
    extra = case.folder / "extra"
    if extra.is_dir():
        files.update({p.relative_to(extra).as_posix().removesuffix(".attack"): p.read_bytes()
                      for p in sorted(extra.rglob("*.attack"))})  # fmt: skip
    dest.write_bytes(zip_of(files))
    return dest


def _honest(dest: Path, files: dict[str, bytes]) -> None:
    dest.write_bytes(zip_of(files))


def _crafted(dest: Path, entries: list[Entry]) -> None:
    dest.write_bytes(build_zip(entries))


def _symlink(target: str):
    return lambda dest, files, hw5: _crafted(
        dest, [Entry(LAYERS, (target or str(hw5.reference_dir / LAYERS)).encode(), mode=0o120777), Entry(CNN, files[CNN])]
    )


def _many_files(dest: Path, files: dict[str, bytes], hw5) -> None:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for n in range(10_000):
            archive.writestr(f"junk/{n}.txt", b"x")


def _notebook_deflated(dest: Path, files: dict[str, bytes], hw5) -> None:
    """200 MiB of notebook output text deflated to about 200 KiB, without ever holding 200 MiB."""
    head = b'{"cells": [{"cell_type": "code", "outputs": [{"output_type": "stream", "text": "'
    tail = b'"}]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    block = b"A" * (1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    chunk = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    payload = first + chunk * 200 + deflate.compress(tail) + deflate.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(200):
        crc = zlib.crc32(block, crc)
    size = len(head) + 200 * len(block) + len(tail)
    notebook = Entry("HW5.ipynb", payload=payload, crc=zlib.crc32(tail, crc), size=size)
    _crafted(dest, [Entry(LAYERS, files[LAYERS]), Entry(CNN, files[CNN]), notebook])


def _notebook_sparse(dest: Path, files: dict[str, bytes], hw5) -> None:
    """A stored 200 MiB notebook written as a sparse file: the zip is large, the disk use is not."""
    size = 200 << 20
    head, tail = b'{"cells": [], "outputs": "', b'"}'
    crc = zlib.crc32(head)
    zeros = bytes(1 << 20)
    for _ in range((size - len(head) - len(tail)) >> 20):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes((size - len(head) - len(tail)) % (1 << 20)), crc)
    crc = zlib.crc32(tail, crc)
    small = build_zip([Entry(LAYERS, files[LAYERS], method=zipfile.ZIP_STORED)])
    local_end = small.index(b"PK\x01\x02")
    name = b"HW5.ipynb"
    with open(dest, "wb") as out:
        out.write(small[:local_end])
        offset = out.tell()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, size, size, len(name), 0))
        out.write(name + head)
        out.seek(offset + 30 + len(name) + size - len(tail))
        out.write(tail)
        directory = small[local_end : small.index(b"PK\x05\x06")]
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, size, size,
                                 len(name), 0, 0, 0, 0, 0, offset) + name  # fmt: skip
        start = out.tell()
        out.write(directory)
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 2, 2, len(directory), start, 0))


def _kernelspec(dest: Path, files: dict[str, bytes], hw5) -> None:
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": "1"}],
        "metadata": {"kernelspec": {"name": "pwned", "display_name": "Python 3", "language": "python",
                                    "argv": ["/bin/sh", "-c", "touch /tmp/pwned-kernel"]}},  # fmt: skip
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    _honest(dest, {**files, "HW5.ipynb": json.dumps(notebook).encode()})


BUILDERS = {
    "slip": lambda dest, files, hw5: _crafted(
        dest, [Entry("../../../../tmp/pwned-zipslip/layers.py", files[LAYERS]), Entry(CNN, files[CNN])]
    ),
    "absolute": lambda dest, files, hw5: _crafted(
        dest, [Entry("/tmp/pwned-absolute/layers.py", files[LAYERS]), Entry(CNN, files[CNN])]
    ),
    "symlink_shadow": _symlink("/etc/shadow"),
    "symlink_reference": _symlink(""),
    "bomb": lambda dest, files, hw5: _crafted(dest, [bomb_entry(LAYERS, 1024), Entry(CNN, files[CNN])]),
    "many_files": _many_files,
    "bad_utf8_flag": lambda dest, files, hw5: _crafted(
        dest, [Entry(b"\xff\xfe/layers.py", files[LAYERS], utf8=True), Entry(CNN, files[CNN])]
    ),
    "non_utf8_names": lambda dest, files, hw5: _crafted(dest, [
        Entry(b"\xc7\xd1\xb1\xdb/intro2ai/layers.py", files[LAYERS], utf8=False),
        Entry(b"\xff\xfe\xfd/cnn.py", files[CNN], utf8=False),
        Entry(b"\x80\x81\x82.txt", b"notes", utf8=False),
    ]),  # fmt: skip
    "notebook_sparse": _notebook_sparse,
    "notebook_deflated": _notebook_deflated,
    "kernelspec": _kernelspec,
    "notebook_garbage": lambda dest, files, hw5: _honest(dest, {**files, "HW5.ipynb": os.urandom(4096)}),
    "nested": lambda dest, files, hw5: _honest(dest, {"submit.zip": zip_of(files)}),
    "gzip": lambda dest, files, hw5: dest.write_bytes(gzip.compress(files[LAYERS])),
}


# ---------------------------------------------------------------- watching the machine


def _owner(path: str) -> int:
    try:
        return os.lstat(path).st_uid
    except OSError:
        return -1


def _listing(place: Path, recursive: bool) -> dict[str, int]:
    """path -> owner uid, for a folder's entries (recursively, skipping .git)."""
    found: dict[str, int] = {}
    if not place.is_dir():
        return found
    if not recursive:
        with os.scandir(place) as entries:
            return {e.path: _owner(e.path) for e in entries}
    for root, dirs, files in os.walk(place):
        dirs[:] = [d for d in dirs if d != ".git"]
        found.update({os.path.join(root, n): _owner(os.path.join(root, n)) for n in dirs + files})
    return found


def _watched_places() -> list[tuple[Path, bool]]:
    places = {Path(tempfile.gettempdir()), Path("/tmp"), Path("/dev/shm"), Path("/var/tmp"), Path.home(),
              Path(sysconfig.get_paths()["purelib"]), Path(os.__file__).parent}  # fmt: skip
    return [(REPO, True)] + [(p, False) for p in sorted(places)]


def _processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (real uid, command line) for every process we can see."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:
            continue
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1))
        found[int(entry.name)] = (uid, cmdline)
    return found


@dataclass
class Guard:
    """Snapshots taken before an attack, compared after it."""

    workdir: Path
    uids: set[int]
    files: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for place, recursive in _watched_places():
            self.files.update(_listing(place, recursive))

    def new_files(self) -> list[str]:
        now: dict[str, int] = {}
        for place, recursive in _watched_places():
            now.update(_listing(place, recursive))
        return sorted(
            path for path, uid in now.items()
            if path not in self.files and (MARKED_NAMES.search(Path(path).name) or uid in SANDBOX_UIDS)
        )  # fmt: skip

    def leftovers(self, wait_s: float = 3.0) -> list[str]:
        """Processes of the sandbox uids (60000+slot) this run used, or naming its work folder.

        Every process a sandbox starts keeps its slot's uid (it cannot change it), so this finds
        daemons; other uids of the range belong to other graders running on the same machine.
        """
        marker = str(self.workdir).encode()
        deadline = time.monotonic() + wait_s
        while True:
            alive = [
                f"pid {pid} uid {uid}: {cmd[:120]!r}" for pid, (uid, cmd) in _processes().items()
                if (uid in self.uids and uid in SANDBOX_UIDS) or marker in cmd
            ]  # fmt: skip
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.1)


# ---------------------------------------------------------------- running and checking


def run_attack(case: AttackCase, hw5: Assignment, tmp_path: Path, uids: set[int],
               allow_weaker: bool = False) -> list[dict]:  # fmt: skip
    """Grades the attack zip (`runs` times) under guard; returns the result documents."""
    listener = socket.create_server(("127.0.0.1", 0)) if case.spec.get("listener") else None
    port = listener.getsockname()[1] if listener else None
    zip_path = attack_zip(case, hw5, tmp_path / "submit.zip", port)
    # Fixed wall-clock limits, as declared per attack (no [time_limits] policy): these tests are
    # about containment; CPU-time limits derived from the reference have their own tests.
    assignment = dataclasses.replace(hw5, limits=hw5.limits.with_overrides(**case.limits), time_policy=None)
    guard = Guard(tmp_path / "work", uids)
    results = []
    try:
        for run in range(case.spec.get("runs", 1)):
            options = RunOptions(seed=SEED, only=tuple(case.questions),
                                   skip_groups=tuple(case.spec.get("skip_groups", ("train", "overfit"))),
                                   workdir=tmp_path / "work" / str(run), allow_weaker_isolation=allow_weaker)  # fmt: skip
            started = time.monotonic()
            result = grade_zip(zip_path, assignment, options).to_json()
            elapsed = time.monotonic() - started
            assert elapsed < case.max_seconds, f"grading took {elapsed:.1f} s (bound {case.max_seconds:.0f} s)"
            results.append(result)
        if listener is not None:
            listener.setblocking(False)
            with pytest.raises(BlockingIOError):
                listener.accept()  # nobody connected
    finally:
        if listener is not None:
            listener.close()
    assert guard.new_files() == [], "files appeared outside the grader's work folder"
    assert guard.leftovers() == [], "sandbox processes outlived the run"
    return results


def check_document(result: dict, hw5: Assignment) -> None:
    text = json.dumps(result, allow_nan=False)  # strict JSON: no NaN/inf anywhere
    assert len(text) < 2 * MiB, "the result document is bloated"
    assert DOCUMENT_KEYS <= result.keys()
    assert result["schema"] == SCHEMA_VERSION and result["assignment"] == hw5.id
    assert result["status"] in ("graded", "ungradable")
    assert result["score"] == pytest.approx(sum(q["score"] for q in result["questions"]))
    assert 0 <= result["score"] <= result["max_score"]
    cap = MAX_RUNS_PER_GROUP * 2 * (hw5.limits.stdout_kb * 1024 + 100)
    for question in result["questions"]:
        assert question["status"] in QUESTION_STATUSES
        assert 0 <= question["score"] <= question["max_score"] + 1e-6
        assert len(question["stdout"]) <= cap, "feedback output is not capped"
        messages = [question["message"]] + [c["message"] for c in question["cases"]]
        assert max(map(len, messages)) <= MESSAGE_CAP, "a feedback message is not capped"


def messages(result: dict) -> list[str]:
    """Every one-line message of the document (the student's own output aside)."""
    found = [result["message"]]
    for question in result["questions"]:
        found += [question["message"]] + [c["message"] for c in question["cases"]]
    return found


def feedback(result: dict) -> str:
    """Everything a student reads: captured output and every message."""
    return "\n".join(messages(result) + [q["stdout"] for q in result["questions"]])


def check_expectations(case: AttackCase, result: dict, hw5: Assignment, stolen: list[str]) -> None:
    spec = case.spec
    assert result["status"] == spec.get("status", "graded"), result["message"]
    assert spec.get("message", "") in result["message"]
    by_id = {q["id"]: q for q in result["questions"]}
    assert set(by_id) == set(case.questions)
    for qid, want in case.questions.items():
        question = by_id[qid]
        statuses = [want["status"]] if isinstance(want["status"], str) else want["status"]
        assert question["status"] in statuses, (qid, question["status"], question["message"])
        if want["score"] == "full":
            assert question["score"] == pytest.approx(question["max_score"], abs=1e-3), question["message"]
        elif want["score"] != "any":
            assert question["score"] == want["score"], question["message"]
        assert want.get("message", "") in question["message"]
        cases = {c["name"]: c for c in question["cases"]}
        for name, case_want in want.get("cases", {}).items():
            assert cases[name]["status"] in case_want["status"], cases[name]["message"]
            assert cases[name]["points"] == case_want["points"]
    if "control" in spec:
        assert by_id[spec["control"]]["status"] == "passed"
    for name in spec.get("ignored", ()):
        assert name in result["files"]["ignored"]
    text = feedback(result)
    assert not ESCAPE_LINE.search(text), ESCAPE_LINE.search(text) and text[:3000]
    if spec.get("printable"):  # messages reach TAs' terminals and exports: no control characters
        assert all(m.isprintable() for m in messages(result)), messages(result)
    for secret in ["def grade_zip", "def expect_conv_forward", ENV_TOKEN, DECOY_TOKEN] + (stolen if spec.get("secrets") else []):
        assert secret not in text, f"leaked: {secret!r}"


@pytest.mark.bwrap
@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_attack_is_contained(case, hw5, stolen_goods, used_uids, decoy, tmp_path, monkeypatch):
    if case.questions and bwrap_path() is None:
        pytest.skip("bubblewrap is not available here")
    monkeypatch.setenv("AUTOGRADER_ADV_SECRET", ENV_TOKEN)
    for result in run_attack(case, hw5, tmp_path, used_uids):
        check_document(result, hw5)
        if case.questions:
            assert result["sandbox"]["kind"] == "bwrap"
        check_expectations(case, result, hw5, stolen_goods)


@pytest.fixture
def without_bwrap(monkeypatch):
    """The rlimits-only fallback, as a non-root grader (CI) runs it: under the grader's own uid.
    As root the engine would drop to a sandbox uid, which cannot reach pytest's 0700 tmp_path
    (nor, on this machine, an interpreter under /root)."""
    monkeypatch.setenv("AUTOGRADER_NO_BWRAP", "1")
    probe_bwrap.cache_clear()
    if os.geteuid() == 0:  # the engine never runs student code as root: pretend to be a non-root grader
        monkeypatch.setattr(grade_module, "sandbox_uid", lambda slot: None)
        monkeypatch.setattr(command_module, "grader_is_root", lambda: False)
    yield
    probe_bwrap.cache_clear()


@pytest.mark.parametrize("case", [_param(c) for c in CASES if c.spec.get("fallback")])
def test_key_attacks_without_bwrap(case, hw5, stolen_goods, without_bwrap, decoy, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_ADV_SECRET", ENV_TOKEN)
    for result in run_attack(case, hw5, tmp_path, set(), allow_weaker=True):
        check_document(result, hw5)
        assert result["sandbox"]["kind"] == "rlimits-only"
        assert "bubblewrap" in (result["sandbox"]["warning"] or "")
        check_expectations(case, result, hw5, stolen_goods)

"""Intake: every honest layout is found, every hostile zip is refused without writing outside workdir."""

from __future__ import annotations

import hashlib
import io
import pickle
import random
import warnings
import zipfile
from pathlib import Path

import pytest
from zipfactory import Entry, bomb_entry, build_zip, zero_bomb, zip_of

from autograder.grading.intake import (
    FileSpec,
    IntakeCaps,
    Submission,
    UngradableSubmission,
    _CapExceeded,
    _copy_capped,
    read_submission,
)

SPECS = (
    FileSpec("layers.py", "intro2ai/layers.py"),
    FileSpec("cnn.py", "intro2ai/classifiers/cnn.py"),
    FileSpec("HW5.ipynb", "HW5.ipynb", kind="notebook", required=False, aliases=("*.ipynb",)),
)
LAYERS = b"def conv_forward_naive(x, w, b, conv_param):\n    return None, None\n"
CNN = b"class ThreeLayerConvNet:\n    pass\n"
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def grade(tmp_path: Path, data: bytes, specs=SPECS, caps: IntakeCaps | None = None) -> Submission:
    """Write `data` as a zip beside the workdir and read it; the caller checks the outcome."""
    zip_path = tmp_path / "submit.zip"
    zip_path.write_bytes(data)
    kwargs = {} if caps is None else {"caps": caps}
    return read_submission(zip_path, specs, tmp_path / "box" / "work", **kwargs)


def outside(tmp_path: Path) -> set[str]:
    """Every path under tmp_path except the workdir and what is inside it."""
    work = tmp_path / "box" / "work"
    return {
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p != work and work not in p.parents
    }


def files_in_work(tmp_path: Path) -> list[Path]:
    """Files (not folders) in the workdir, resolved like Submission.files; [] when it was never made."""
    return [p.resolve() for p in (tmp_path / "box" / "work").rglob("*") if not p.is_dir()]


# ---------------------------------------------------------------- layouts


LAYOUTS = {
    "flat": {"layers.py": LAYERS, "cnn.py": CNN, "HW5.ipynb": NOTEBOOK},
    "intro2ai package": {
        "intro2ai/layers.py": LAYERS,
        "intro2ai/classifiers/cnn.py": CNN,
        "HW5.ipynb": NOTEBOOK,
    },
    "cs231n package": {
        "cs231n/layers.py": LAYERS,
        "cs231n/classifiers/cnn.py": CNN,
        "HW5.ipynb": NOTEBOOK,
    },
    "extra top folder": {
        "hw5/intro2ai/layers.py": LAYERS,
        "hw5/intro2ai/classifiers/cnn.py": CNN,
        "hw5/HW5.ipynb": NOTEBOOK,
    },
    "cnn.py beside layers.py": {
        "intro2ai/layers.py": LAYERS,
        "intro2ai/cnn.py": CNN,
        "intro2ai/HW5.ipynb": NOTEBOOK,
    },
    "Korean UTF-8 names, macOS": {
        "과제5/layers.py": LAYERS,
        "과제5/cnn.py": CNN,
        "과제5/HW5_홍길동.ipynb": NOTEBOOK,
        "과제5/._HW5_홍길동.ipynb": b"\x00\x05\x16\x07junk",
        "과제5/.ipynb_checkpoints/HW5_홍길동-checkpoint.ipynb": NOTEBOOK,
    },
    "macOS and tool droppings": {
        "hw5/intro2ai/layers.py": LAYERS,
        "hw5/intro2ai/classifiers/cnn.py": CNN,
        "hw5/HW5.ipynb": NOTEBOOK,
        "__MACOSX/hw5/intro2ai/._layers.py": b"\x00\x05\x16\x07junk",
        "hw5/intro2ai/._layers.py": b"\x00\x05\x16\x07junk",
        "hw5/.DS_Store": b"\x00\x00\x00\x01Bud1",
        "hw5/.ipynb_checkpoints/HW5-checkpoint.ipynb": NOTEBOOK,
        "hw5/intro2ai/__pycache__/layers.cpython-311.pyc": b"\x00" * 16,
        "hw5/.git/layers.py": b"stale copy",
    },
}


@pytest.mark.parametrize("layout", LAYOUTS, ids=list(LAYOUTS))
def test_every_layout_is_found(tmp_path: Path, layout: str) -> None:
    members = LAYOUTS[layout]
    sub = grade(tmp_path, zip_of(members))
    work = (tmp_path / "box" / "work").resolve()
    assert sub.files == {
        "layers.py": work / "intro2ai/layers.py",
        "cnn.py": work / "intro2ai/classifiers/cnn.py",
        "HW5.ipynb": work / "HW5.ipynb",
    }
    by_content = {data: name for name, data in members.items() if data in (LAYERS, CNN, NOTEBOOK)}
    assert sub.origins["layers.py"] == by_content[LAYERS]
    assert sub.origins["cnn.py"] == by_content[CNN]
    assert sub.files["layers.py"].read_bytes() == LAYERS
    assert sub.files["cnn.py"].read_bytes() == CNN
    assert sub.files["HW5.ipynb"].read_bytes() == NOTEBOOK
    assert sub.missing == () and sub.broken == {}
    assert sorted(files_in_work(tmp_path)) == sorted(sub.files.values())


def test_windows_backslashes_and_cp949_names(tmp_path: Path) -> None:
    """PowerShell 5 writes backslashes; Korean Explorer writes CP949 names without the UTF-8 flag."""
    data = build_zip(
        [
            Entry("hw5\\intro2ai\\layers.py", LAYERS),
            Entry("과제5/cnn.py".encode("cp949"), CNN),
            Entry("과제5/홍길동_HW5.ipynb".encode("cp949"), NOTEBOOK),
        ]
    )
    sub = grade(tmp_path, data)
    assert sub.origins == {
        "layers.py": "hw5/intro2ai/layers.py",
        "cnn.py": "과제5/cnn.py",
        "HW5.ipynb": "과제5/홍길동_HW5.ipynb",
    }
    assert sub.files["cnn.py"].read_bytes() == CNN


def test_notebook_is_optional_and_missing_files_are_listed(tmp_path: Path) -> None:
    sub = grade(tmp_path, zip_of({"intro2ai/layers.py": LAYERS}))
    assert set(sub.files) == {"layers.py"}
    assert sub.missing == ("cnn.py", "HW5.ipynb")
    assert [p.name for p in files_in_work(tmp_path)] == ["layers.py"]


def test_exact_name_beats_alias_and_rest_is_ignored(tmp_path: Path) -> None:
    members = {
        "hw5/": b"",
        "hw5/layers.py": LAYERS,
        "hw5/cnn.py": CNN,
        "hw5/HW5.ipynb": NOTEBOOK,
        "hw5/Untitled.ipynb": NOTEBOOK,
        "hw5/README.md": b"# notes",
        "hw5/intro2ai/solver.py": b"x = 1\n",
        "__MACOSX/hw5/._cnn.py": b"junk",
    }
    sub = grade(tmp_path, zip_of(members))
    assert sub.origins["HW5.ipynb"] == "hw5/HW5.ipynb"
    assert sub.ignored == (
        "hw5/Untitled.ipynb",
        "hw5/README.md",
        "hw5/intro2ai/solver.py",
        "__MACOSX/hw5/._cnn.py",
    )
    assert sub.sha256 == hashlib.sha256((tmp_path / "submit.zip").read_bytes()).hexdigest()


def test_template_file_at_dest_is_replaced(tmp_path: Path) -> None:
    """The workdir may already hold the template's given code; the student's file goes on top."""
    stub = tmp_path / "box" / "work" / "intro2ai" / "layers.py"
    stub.parent.mkdir(parents=True)
    stub.write_bytes(b"# template stub\n")
    sub = grade(tmp_path, zip_of({"layers.py": LAYERS}))
    assert sub.files["layers.py"] == stub.resolve()
    assert stub.read_bytes() == LAYERS
    assert [p.name for p in stub.parent.iterdir()] == ["layers.py"]  # no temp file left behind


def test_link_in_workdir_does_not_carry_files_out(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "box" / "work").mkdir(parents=True)
    (tmp_path / "box" / "work" / "intro2ai").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="through a link"):
        grade(tmp_path, zip_of({"layers.py": LAYERS, "cnn.py": CNN}))
    assert list(elsewhere.iterdir()) == []


# ---------------------------------------------------------------- python checks


BROKEN_SOURCES = {
    "syntax error": (b"def f(:\n    pass\n", "SyntaxError line 1"),
    "syntax error further down": (
        b"import numpy as np\n\n\nx = (1,\n" + b"y = 2\n",
        "SyntaxError line 4",
    ),
    "indentation": (b"def f():\nreturn 1\n", "IndentationError line 2"),
    "not UTF-8": ("x = 1\n# 합성곱 계층\n".encode("cp949"), "not UTF-8 (byte 0xc7 on line 2)"),
    "null byte": (b"x = 1\x00\n", "null bytes"),
    "too deeply nested": (b"x = " + b"-" * 200_000 + b"1\n", "cannot be compiled"),
}


@pytest.mark.parametrize("case", BROKEN_SOURCES, ids=list(BROKEN_SOURCES))
def test_uncompilable_python_goes_to_broken(tmp_path: Path, case: str) -> None:
    source, reason = BROKEN_SOURCES[case]
    stub = tmp_path / "box" / "work" / "intro2ai" / "layers.py"
    stub.parent.mkdir(parents=True)
    stub.write_bytes(b"# template stub\n")
    sub = grade(tmp_path, zip_of({"hw5/layers.py": source, "hw5/cnn.py": CNN}))
    assert reason in sub.broken["layers.py"]
    assert "\n" not in sub.broken["layers.py"]
    assert "layers.py" not in sub.files and sub.origins["layers.py"] == "hw5/layers.py"
    assert set(sub.files) == {"cnn.py"}
    assert stub.read_bytes() == b"# template stub\n"  # a broken file never lands in the workspace
    assert sorted(p.name for p in files_in_work(tmp_path)) == ["cnn.py", "layers.py"]


def test_bom_and_warnings_are_not_errors(tmp_path: Path) -> None:
    """A BOM (Windows Notepad) is fine, and a SyntaxWarning under `-W error` does not break a file."""
    source = "\ufeff# 합성곱\nimport re\nPAT = re.compile('\\d+')\nok = 1 is 1\n".encode()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sub = grade(tmp_path, zip_of({"layers.py": source}))
    assert sub.broken == {} and sub.files["layers.py"].read_bytes() == source


# ---------------------------------------------------------------- hostile and broken zips


def _valid() -> bytes:
    return zip_of({"hw5/layers.py": LAYERS, "hw5/cnn.py": CNN})


def _corrupt_data() -> bytes:
    data = bytearray(build_zip([Entry("layers.py", LAYERS * 50, method=zipfile.ZIP_STORED)]))
    data[40:44] = b"!!!!"  # inside the stored bytes: the CRC no longer matches
    return bytes(data)


def _tiny_files(n: int, count: int | None = None) -> bytes:
    return build_zip(
        [Entry(f"f/{i}.txt", b"x", method=zipfile.ZIP_STORED) for i in range(n)], count=count
    )


HOSTILE = {
    "not a zip": (lambda: b"print('hello')\n" * 10, "not a zip archive"),
    "RAR archive": (lambda: b"Rar!\x1a\x07\x00" + b"\x00" * 64, "RAR archive, not a zip"),
    "truncated": (lambda: _valid()[: len(_valid()) // 2], "truncated or corrupt"),
    "corrupt member": (_corrupt_data, "is corrupt inside the zip"),
    "dot-dot": (
        lambda: build_zip([Entry("../evil.py", LAYERS), Entry("layers.py", LAYERS)]),
        "outside",
    ),
    "dot-dot inside": (lambda: build_zip([Entry("hw5/../../layers.py", LAYERS)]), "outside"),
    "dot-dot backslash": (lambda: build_zip([Entry("..\\..\\layers.py", LAYERS)]), "outside"),
    "absolute": (
        lambda: build_zip([Entry("/tmp/intake-test-evil/layers.py", LAYERS)]),
        "absolute path",
    ),
    "drive letter": (lambda: build_zip([Entry("C:/Users/s/layers.py", LAYERS)]), "absolute path"),
    "drive backslash": (lambda: build_zip([Entry("C:\\layers.py", LAYERS)]), "absolute path"),
    "UNC path": (lambda: build_zip([Entry("\\\\host\\share\\layers.py", LAYERS)]), "absolute path"),
    "symlink": (
        lambda: build_zip([Entry("intro2ai/layers.py", b"/etc/passwd", mode=0o120777)]),
        "symbolic link",
    ),
    "symlink elsewhere": (
        lambda: build_zip([Entry("layers.py", LAYERS), Entry("hw5/data", b"/", mode=0o120755)]),
        "symbolic link",
    ),
    "fifo": (lambda: build_zip([Entry("layers.py", b"", mode=0o010644)]), "special file"),
    "encrypted": (
        lambda: build_zip([Entry("layers.py", b"\x8f" * 40, flags=0x1)]),
        "password-protected",
    ),
    "duplicate names": (
        lambda: build_zip(
            [Entry("intro2ai/layers.py", LAYERS), Entry("intro2ai/layers.py", b"x = 2\n")]
        ),
        "twice",
    ),
    "duplicate after normalising": (
        lambda: build_zip(
            [Entry("intro2ai/layers.py", LAYERS), Entry("./intro2ai//layers.py", LAYERS)]
        ),
        "twice",
    ),
    "ambiguous": (
        lambda: zip_of({"hw5/intro2ai/layers.py": LAYERS, "hw5/backup/layers.py": LAYERS}),
        "2 candidates for layers.py: hw5/intro2ai/layers.py, hw5/backup/layers.py",
    ),
    "ambiguous notebooks": (
        lambda: zip_of(
            {"layers.py": LAYERS, "HW5_final.ipynb": NOTEBOOK, "HW5 (1).ipynb": NOTEBOOK}
        ),
        "2 candidates for HW5.ipynb",
    ),
    "bad UTF-8 names": (
        lambda: build_zip([Entry(b"\xff\xfelayers.py", LAYERS, utf8=True)]),
        "not valid UTF-8",
    ),
    "empty zip": (lambda: build_zip([]), "the zip is empty"),
    "only folders": (lambda: zip_of({"hw5/": b"", "hw5/intro2ai/": b""}), "the zip is empty"),
    "none of the files": (
        lambda: zip_of({"hw5/README.md": b"hi", "hw5/main.py": b"x = 1\n"}),
        "the zip holds none of layers.py, cnn.py, HW5.ipynb",
    ),
    "zip in a zip": (lambda: zip_of({"hw5.zip": _valid()}), "not a zip inside a zip"),
    "bzip2 member": (
        lambda: build_zip([Entry("layers.py", LAYERS, method=zipfile.ZIP_BZIP2)]),
        "unsupported compression method",
    ),
    "10,000 tiny files": (lambda: _tiny_files(10_000), "10000 entries, over the limit of 2000"),
    "10,000 tiny files, end record lies": (lambda: _tiny_files(10_000, count=5), "10000 entries"),
    "1 GiB bomb as layers.py": (
        lambda: build_zip([bomb_entry("layers.py", 1024)]),
        "1024.0 MiB, over the 200.0 MiB",
    ),
    "1 GiB bomb beside the files": (
        lambda: build_zip([Entry("layers.py", LAYERS), bomb_entry("data/zeros.bin", 1024)]),
        "zip bomb",
    ),
    "bomb with lying header": (
        lambda: build_zip([bomb_entry("layers.py", 1024, declared=1000)]),
        "is corrupt inside the zip",
    ),
    "high ratio below the total cap": (
        lambda: build_zip([Entry("layers.py", LAYERS), bomb_entry("zeros.bin", 4)]),
        "over the 200x limit (zip bomb)",
    ),
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_zip_is_refused_and_nothing_escapes(tmp_path: Path, case: str) -> None:
    build, expected = HOSTILE[case]
    data = build()
    (tmp_path / "box").mkdir()
    (tmp_path / "submit.zip").write_bytes(data)
    before = outside(tmp_path)
    with pytest.raises(UngradableSubmission) as info:
        grade(tmp_path, data)
    err = info.value
    assert expected in str(err)
    assert err.fix and "\n" not in err.cause + err.fix
    assert str(err) == f"{err.cause} — {err.fix}"
    assert outside(tmp_path) == before
    assert files_in_work(tmp_path) == []
    assert not Path("/tmp/intake-test-evil").exists()


def test_ambiguity_fix_says_keep_one(tmp_path: Path) -> None:
    with pytest.raises(UngradableSubmission) as info:
        grade(tmp_path, zip_of({"a/layers.py": LAYERS, "b/layers.py": LAYERS}))
    assert info.value.fix == "keep only the layers.py you want graded and re-create the zip"


CAPPED = {
    "zip too big": (
        IntakeCaps(max_zip_bytes=1000),
        {"layers.py": b"x = '%s'\n" % random.Random(0).randbytes(2000).hex().encode()},
        r"the zip is \d\.\d KiB, over the 1000 bytes limit",
    ),
    "python file too big": (
        IntakeCaps(max_python_bytes=100),
        {"layers.py": LAYERS * 3},
        "limit for a python file",
    ),
    "notebook too big": (
        IntakeCaps(max_file_bytes=50),
        {"layers.py": LAYERS, "HW5.ipynb": NOTEBOOK},
        "limit for a notebook file",
    ),
    "too many members": (
        IntakeCaps(max_members=3),
        {f"{i}.py": b"" for i in range(4)} | {"layers.py": LAYERS},
        "5 entries",
    ),
}


@pytest.mark.parametrize("case", CAPPED, ids=list(CAPPED))
def test_caps_are_enforced(tmp_path: Path, case: str) -> None:
    caps, members, expected = CAPPED[case]
    with pytest.raises(UngradableSubmission, match=expected):
        grade(tmp_path, zip_of(members), caps=caps)


def test_notebook_fix_says_clear_outputs(tmp_path: Path) -> None:
    with pytest.raises(UngradableSubmission) as info:
        grade(tmp_path, zip_of({"HW5.ipynb": NOTEBOOK}), caps=IntakeCaps(max_file_bytes=10))
    assert "clear the notebook's outputs" in info.value.fix


def test_counting_cap_stops_the_stream_whatever_the_headers_say() -> None:
    out = io.BytesIO()
    assert _copy_capped(io.BytesIO(b"a" * 200_000), out, 200_000) == 200_000
    assert out.getvalue() == b"a" * 200_000
    out = io.BytesIO()
    with pytest.raises(_CapExceeded):
        _copy_capped(io.BytesIO(b"a" * 200_001), out, 200_000)
    assert len(out.getvalue()) <= 200_000


def test_zero_bomb_factory_builds_a_valid_zip() -> None:
    """The bomb used above is a genuine deflate stream: checked here at 8 MiB (CRC included)."""
    payload, _, size = zero_bomb(8)
    with zipfile.ZipFile(io.BytesIO(build_zip([bomb_entry("z.bin", 8)]))) as zf:
        assert zf.read("z.bin") == bytes(size)
    assert size / len(payload) > 500


def test_damaged_zips_never_escape_as_other_errors(tmp_path: Path) -> None:
    """Random byte damage anywhere: the outcome is a Submission or UngradableSubmission, nothing else."""
    rng = random.Random(231)
    good = zip_of(
        {"hw5/intro2ai/layers.py": LAYERS * 20, "hw5/cnn.py": CNN * 20, "hw5/HW5.ipynb": NOTEBOOK}
    )
    outcomes = set()
    for i in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        run = tmp_path / str(i)
        run.mkdir()
        try:
            grade(run, bytes(data))
            outcomes.add("graded")
        except UngradableSubmission:
            outcomes.add("ungradable")
        assert {p.name for p in run.iterdir()} <= {"submit.zip", "box"}
        assert not (run / "box").exists() or [p.name for p in (run / "box").iterdir()] == ["work"]
    assert outcomes == {"graded", "ungradable"}


def test_ungradable_survives_pickling() -> None:
    """Batch grading raises it in worker processes; it must cross back intact."""
    err = pickle.loads(pickle.dumps(UngradableSubmission("the zip is empty", "zip your files")))
    assert (err.cause, err.fix, str(err)) == (
        "the zip is empty",
        "zip your files",
        "the zip is empty — zip your files",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "a.py", "dest": "../a.py"},
        {"name": "a.py", "dest": "/abs/a.py"},
        {"name": "a.py", "dest": ""},
        {"name": "a.py", "dest": "a.py", "kind": "binary"},
    ],
)
def test_filespec_rejects_bad_declarations(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        FileSpec(**kwargs)

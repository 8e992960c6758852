"""Grading step: intake: owns turning a student's zip into a checked `Submission` (safe extraction, whitelist, caps, located files).

Student zips arrive in every layout, so each wanted file is found by basename (or alias glob)
wherever it sits. Zips are hostile until proven otherwise: the whole archive is vetted from its
directory first (member count, names, links, encryption, declared sizes), then only whitelisted
members are stream-decompressed, under counting caps, into files this module creates itself
inside `workdir`. Nothing here ever runs student code; Python files are only compiled.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from autograder.assignment import MANIFEST_NAME, FileSpec

MiB = 1 << 20
_CHUNK = 64 * 1024
_JUNK_DIRS = frozenset({"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".git"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAGS = 0x1 | 0x40  # traditional PKWARE encryption | strong encryption
# bzip2/LZMA members are inflated by zipfile in one unbounded call per read, so a tiny
# compressed chunk can allocate gigabytes before any counting cap sees it.
_SAFE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_OTHER_ARCHIVES = (
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip/tar.gz archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"),
)
_EOCD, _EOCD64_LOCATOR, _EOCD64 = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_EOCD_SIZE = 22
# What zipfile raises on damaged or crafted structures; OSError/ValueError come from seeking to
# crafted offsets (only caught around zipfile calls, never around our own writes).
_DAMAGE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
    struct.error,
)


@dataclass(frozen=True)
class IntakeCaps:
    """Limits for one zip. A homework zip is a few .py files and one notebook of a few MiB; these
    leave generous room for notebooks with image outputs while bounding disk, memory and time."""

    max_zip_bytes: int = 100 * MiB  # the uploaded zip itself
    max_members: int = 2000  # central-directory entries, counted before zipfile parses them
    max_total_bytes: int = 200 * MiB  # declared total of all members; also actual extracted total
    max_file_bytes: int = 20 * MiB  # one extracted notebook
    max_python_bytes: int = 2 * MiB  # one extracted .py file
    max_ratio: float = 200.0  # uncompressed/compressed per member (text compresses 3-20x) ...
    ratio_floor_bytes: int = 1 * MiB  # ... judged above this size: tiny repetitive files are fine

    def file_cap(self, kind: str) -> int:
        return self.max_python_bytes if kind == "python" else self.max_file_bytes


DEFAULT_CAPS = IntakeCaps()


@dataclass(frozen=True)
class Submission:
    """A vetted zip: where each found file was extracted to and what was wrong with the rest."""

    zip_path: Path
    sha256: str
    files: dict[str, Path]  # spec name -> extracted, checked file in workdir
    origins: dict[str, str]  # spec name -> member path in the zip (all found, broken ones too)
    missing: tuple[str, ...]  # spec names not found
    broken: dict[str, str]  # spec name -> why it is unusable; such files are not left in workdir
    ignored: tuple[str, ...]  # members outside the whitelist (directories not listed)


class UngradableSubmission(Exception):
    """The whole zip cannot be graded. `cause` and `fix` are one line each, written for the student."""

    def __init__(self, cause: str, fix: str) -> None:
        # Both in args, so that it survives pickling back from a worker process.
        super().__init__(_one_line(cause), _one_line(fix))

    @property
    def cause(self) -> str:
        return self.args[0]

    @property
    def fix(self) -> str:
        return self.args[1]

    def __str__(self) -> str:
        return f"{self.cause} — {self.fix}"


@dataclass(frozen=True)
class _Member:
    info: zipfile.ZipInfo
    name: str  # decoded, backslashes read as separators
    parts: tuple[str, ...]  # without empty and "." parts

    @property
    def shown(self) -> str:
        return printable(self.name)

    @property
    def basename(self) -> str:
        return self.parts[-1] if self.parts else ""

    @property
    def junk(self) -> bool:
        """Tool droppings that must never be a candidate: macOS AppleDouble `._HW5.ipynb` would
        match the `*.ipynb` alias, and checkpoint or cache folders hold stale copies. (.DS_Store and
        the like match no spec; they are simply ignored.)"""
        return self.basename.startswith("._") or any(p in _JUNK_DIRS for p in self.parts)


def read_submission(
    zip_path: Path, specs: Sequence[FileSpec], workdir: Path, caps: IntakeCaps = DEFAULT_CAPS
) -> Submission:
    """Vet `zip_path`, extract the files named by `specs` into `workdir` at their `dest`, check them.

    Raises UngradableSubmission when the zip as a whole cannot be graded; a missing or broken
    single file is recorded instead. An unreadable `zip_path` (OSError) is the caller's problem.
    """
    zip_path = Path(zip_path)
    with open(zip_path, "rb") as fh:
        size = _check_zip_file(fh, caps)
        digest = _sha256(fh)
        _check_count(_declared_member_count(fh, size), caps)
        with _open_zip(fh) as zf:
            members = _vet_members(zf, caps)
            _check_declared_sizes(members, specs, caps)
            chosen = _locate(members, specs)
            _check_chosen(chosen, specs, caps)
            files, broken = _extract_all(zf, chosen, specs, Path(workdir), caps)
    picked = {id(m) for m in chosen.values()}
    return Submission(
        zip_path=zip_path,
        sha256=digest,
        files=files,
        origins={name: m.shown for name, m in chosen.items()},
        missing=tuple(s.name for s in specs if s.name not in chosen),
        broken=broken,
        ignored=tuple(m.shown for m in members if id(m) not in picked and not m.info.is_dir()),
    )


# ---------------------------------------------------------------- the zip file itself


def _check_zip_file(fh: BinaryIO, caps: IntakeCaps) -> int:
    st = os.fstat(fh.fileno())
    if not stat.S_ISREG(st.st_mode):
        raise UngradableSubmission(
            "the submission is not a regular file", "upload the .zip file itself"
        )
    if st.st_size > caps.max_zip_bytes:
        raise UngradableSubmission(
            f"the zip is {_size(st.st_size)}, over the {_size(caps.max_zip_bytes)} limit",
            "zip only the files to grade: leave out data sets, checkpoints and notebook outputs",
        )
    return st.st_size


MANIFEST_CAP = 64 * 1024


def submission_stem(student: str | None, sha256: str | None) -> str:
    """A file name stem no student id can turn into a path: word characters only, plus the hash.

    Every file made for one submission (its result, executed notebook, feedback page) starts with it.
    """
    safe = re.sub(r"[^\w.-]+", "_", str(student or "unknown")).strip("._")[:60]
    return f"{safe or 'student'}-{str(sha256 or '')[:8] or 'nohash'}"


def manifest_assignment(zip_path: Path) -> str | None:
    """The assignment id a packed zip's manifest names; None for a zip without a readable one.

    Only picks which declaration grades the zip (the CLI's default for -a); everything the
    grade rests on is vetted by `read_submission` as for any zip.
    """
    try:
        with zipfile.ZipFile(zip_path) as archive:
            info = archive.getinfo(MANIFEST_NAME)
            if info.file_size > MANIFEST_CAP:
                return None
            value = json.loads(archive.read(info)).get("assignment")
    except (OSError, KeyError, ValueError, AttributeError, zipfile.BadZipFile, RuntimeError, NotImplementedError):
        return None
    return value if isinstance(value, str) and re.fullmatch(r"[\w.-]{1,100}", value) else None


def sha256_file(path: Path) -> str:
    """The sha256 a result records for a zip, also for one too broken to open as a zip."""
    with open(path, "rb") as fh:
        return _sha256(fh)


def _sha256(fh: BinaryIO) -> str:
    fh.seek(0)
    digest = hashlib.sha256()
    while chunk := fh.read(MiB):
        digest.update(chunk)
    return digest.hexdigest()


def _declared_member_count(fh: BinaryIO, size: int) -> int | None:
    """Entry count from the end-of-central-directory record, found the way zipfile finds it.

    Read before zipfile parses (and allocates an object for) every entry: 100 MiB of central
    directory is two million entries. None when there is no usable record (zipfile then decides).
    """
    tail_len = min(size, _EOCD_SIZE + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = len(tail) - _EOCD_SIZE
    if not (at >= 0 and tail[at : at + 4] == _EOCD and tail[-2:] == b"\0\0"):
        at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        return None
    (count,) = struct.unpack_from("<H", tail, at + 10)
    locator = at - 20
    if count != 0xFFFF or locator < 0 or tail[locator : locator + 4] != _EOCD64_LOCATOR:
        return count
    (offset,) = struct.unpack_from("<Q", tail, locator + 8)
    fh.seek(min(offset, size))
    record = fh.read(40)
    if len(record) < 40 or record[:4] != _EOCD64:
        return None
    return struct.unpack_from("<Q", record, 32)[0]


def _check_count(count: int | None, caps: IntakeCaps) -> None:
    if count is not None and count > caps.max_members:
        raise UngradableSubmission(
            f"the zip holds {count} entries, over the limit of {caps.max_members}",
            "zip only the files to grade, not a whole project, environment or data folder",
        )


def _open_zip(fh: BinaryIO) -> zipfile.ZipFile:
    fh.seek(0)
    try:
        return zipfile.ZipFile(fh)
    except UnicodeDecodeError as exc:
        raise UngradableSubmission(
            "the zip's file names are marked UTF-8 but are not valid UTF-8",
            "re-create the zip with your system's built-in zip tool",
        ) from exc
    except _DAMAGE as exc:
        raise _not_a_zip(fh, exc) from exc


def _not_a_zip(fh: BinaryIO, exc: Exception) -> UngradableSubmission:
    fh.seek(0)
    head = fh.read(8)
    for magic, what in _OTHER_ARCHIVES:
        if head.startswith(magic):
            return UngradableSubmission(
                f"the file is {what}, not a zip", "compress the files as a .zip and upload that"
            )
    if head.startswith((b"PK\x03\x04", _EOCD)):
        return UngradableSubmission(
            f"the zip is truncated or corrupt ({exc})", "re-create the zip and upload it again"
        )
    return UngradableSubmission(
        "the file is not a zip archive", "compress the files as a .zip and upload that"
    )


# ---------------------------------------------------------------- the directory


def _vet_members(zf: zipfile.ZipFile, caps: IntakeCaps) -> list[_Member]:
    """Every entry, refusing the whole zip for anything no honest zip tool produces by accident."""
    infos = zf.infolist()
    _check_count(len(infos), caps)  # the record's count may lie; zipfile parsed them all anyway
    members, seen = [], {}
    for info in infos:
        member = _member(info)
        _vet_member(member)
        if not info.is_dir():
            key = "/".join(member.parts)
            if key in seen:
                raise UngradableSubmission(
                    f"the zip holds {seen[key].shown} twice (also as {member.shown})",
                    "re-create the zip so that each file appears once",
                )
            seen[key] = member
        members.append(member)
    if not seen:
        raise UngradableSubmission(
            "the zip is empty", "zip your files again and check the zip before uploading"
        )
    return members


def _member(info: zipfile.ZipInfo) -> _Member:
    # Backslashes are separators: PowerShell 5 Compress-Archive writes them.
    name = _decoded_name(info).replace("\\", "/")
    return _Member(info, name, tuple(p for p in name.split("/") if p not in ("", ".")))


def _decoded_name(info: zipfile.ZipInfo) -> str:
    """The entry name as the student saw it: without the UTF-8 flag zipfile decodes cp437, but
    macOS/Linux tools write UTF-8 and Korean Windows Explorer writes CP949 there."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _vet_member(member: _Member) -> None:
    info, shown = member.info, member.shown
    mode = info.external_attr >> 16
    if info.flag_bits & _ENCRYPTED_FLAGS:
        raise UngradableSubmission(
            f"the zip is password-protected ({shown})", "re-create the zip without a password"
        )
    if stat.S_ISLNK(mode):
        raise UngradableSubmission(
            f"{shown} is a symbolic link",
            "replace the link with the real file and re-create the zip",
        )
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UngradableSubmission(
            f"{shown} is a special file (device, pipe or socket)", "zip only ordinary files"
        )
    if member.name.startswith("/") or _DRIVE.match(member.name):
        raise UngradableSubmission(f"{shown} has an absolute path", "zip files with relative paths")
    if ".." in member.parts:
        raise UngradableSubmission(
            f"{shown} points outside the zip's folder ('..')", "zip files with plain relative paths"
        )


def _check_declared_sizes(
    members: list[_Member], specs: Sequence[FileSpec], caps: IntakeCaps
) -> None:
    """Zip bombs announced by the directory are refused before a single byte is inflated."""
    total = sum(m.info.file_size for m in members)
    if total > caps.max_total_bytes:
        raise UngradableSubmission(
            f"the zip unpacks to {_size(total)}, over the {_size(caps.max_total_bytes)} limit (zip bomb or bulky files)",
            f"zip only {_names(specs)}",
        )
    for m in members:
        size, packed = m.info.file_size, m.info.compress_size
        if size > caps.ratio_floor_bytes and size > caps.max_ratio * packed:
            raise UngradableSubmission(
                f"{m.shown} expands {size / max(packed, 1):.0f}x, over the {caps.max_ratio:.0f}x limit (zip bomb)",
                f"zip only {_names(specs)}",
            )


# ---------------------------------------------------------------- finding the wanted files


def _locate(members: list[_Member], specs: Sequence[FileSpec]) -> dict[str, _Member]:
    """spec name -> its member; an exact basename beats an alias, two equal candidates are ambiguous."""
    candidates = [m for m in members if not m.info.is_dir() and not m.junk]
    chosen = {}
    for spec in specs:
        ranked = [(r, m) for m in candidates if (r := spec.rank(m.basename)) is not None]
        if not ranked:
            continue
        best = min(r for r, _ in ranked)
        tops = [m for r, m in ranked if r == best]
        if len(tops) > 1:
            raise UngradableSubmission(
                f"the zip holds {len(tops)} candidates for {spec.name}: {', '.join(m.shown for m in tops)}",
                f"keep only the {spec.name} you want graded and re-create the zip",
            )
        chosen[spec.name] = tops[0]
    if not chosen:
        raise UngradableSubmission(
            f"the zip holds none of {_names(specs)}", _none_found_fix(members, specs)
        )
    return chosen


def _none_found_fix(members: list[_Member], specs: Sequence[FileSpec]) -> str:
    inner = [m.shown for m in members if m.basename.lower().endswith(".zip")]
    if inner:
        return f"unzip {inner[0]} and zip {_names(specs)} themselves, not a zip inside a zip"
    return f"put {_names(specs)} in the zip (any folder layout works)"


def _check_chosen(chosen: dict[str, _Member], specs: Sequence[FileSpec], caps: IntakeCaps) -> None:
    for spec in specs:
        member = chosen.get(spec.name)
        if member is None:
            continue
        if member.info.compress_type not in _SAFE_METHODS:
            raise UngradableSubmission(
                f"{member.shown} uses an unsupported compression method ({member.info.compress_type})",
                "re-create the zip with standard (Deflate) compression, the default of every zip tool",
            )
        if member.info.file_size > caps.file_cap(spec.kind):
            raise UngradableSubmission(
                f"{member.shown} is {_size(member.info.file_size)}, over the {_size(caps.file_cap(spec.kind))} "
                f"limit for a {spec.kind} file",
                _too_big_fix(spec),
            )


def _too_big_fix(spec: FileSpec) -> str:
    if spec.kind == "notebook":
        return "clear the notebook's outputs (Kernel > Restart & Clear Output), save and re-create the zip"
    return f"submit your own source code in {spec.name}, without embedded data"


# ---------------------------------------------------------------- extraction and checks


class _CapExceeded(Exception):
    pass


def _extract_all(
    zf: zipfile.ZipFile,
    chosen: dict[str, _Member],
    specs: Sequence[FileSpec],
    workdir: Path,
    caps: IntakeCaps,
) -> tuple[dict[str, Path], dict[str, str]]:
    """Extract the chosen members; on refusal remove what was already written."""
    files, broken = {}, {}
    budget = caps.max_total_bytes
    try:
        for spec in specs:
            member = chosen.get(spec.name)
            if member is None:
                continue
            dest = _dest(workdir, spec)
            written, problem = _extract_one(zf, member, spec, dest, budget, caps)
            budget -= written
            if problem:
                broken[spec.name] = problem
            else:
                files[spec.name] = dest
    except UngradableSubmission:
        for path in files.values():
            path.unlink(missing_ok=True)
        raise
    return files, broken


def _dest(workdir: Path, spec: FileSpec) -> Path:
    """Where `spec` goes; checked before any folder is made, since the workdir may already hold
    (our own) template folders and a link among them must not carry files elsewhere."""
    root = workdir.resolve()
    dest = root.joinpath(*PurePosixPath(spec.dest).parts)
    if not dest.parent.resolve().is_relative_to(root):
        raise ValueError(f"{spec.dest!r} leaves the workdir {workdir} through a link")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def _extract_one(
    zf: zipfile.ZipFile, member: _Member, spec: FileSpec, dest: Path, budget: int, caps: IntakeCaps
) -> tuple[int, str | None]:
    """Stream one member into a temp file beside `dest`; move it into place only if it checks out.

    Returns (bytes written, why it is broken or None). The counting caps do not trust the
    directory's sizes: they bound what is actually inflated.
    """
    limit, cause = min(
        (
            caps.file_cap(spec.kind),
            f"{member.shown} unpacks to more than the {_size(caps.file_cap(spec.kind))} limit",
        ),
        (budget, f"the files to grade unpack to more than {_size(caps.max_total_bytes)} in total"),
        (
            max(caps.ratio_floor_bytes, int(caps.max_ratio * member.info.compress_size)),
            f"{member.shown} expands more than {caps.max_ratio:.0f}x (zip bomb)",
        ),
    )
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".intake-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, _open_member(zf, member) as src:
            written = _copy_capped(src, out, limit)
        problem = _python_problem(tmp.read_bytes(), spec.name) if spec.kind == "python" else None
        if problem is None:
            os.replace(tmp, dest)
        return written, problem
    except _CapExceeded as exc:
        raise UngradableSubmission(
            cause, f"zip only {spec.name} and the other files to grade"
        ) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _corrupt(member, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _open_member(zf: zipfile.ZipFile, member: _Member) -> BinaryIO:
    try:
        return zf.open(member.info)
    except _DAMAGE as exc:  # local header: bad offset, flags or name
        raise _corrupt(member, exc) from exc


def _corrupt(member: _Member, exc: Exception) -> UngradableSubmission:
    return UngradableSubmission(
        f"{member.shown} is corrupt inside the zip ({exc})", "re-create the zip and upload it again"
    )


def _copy_capped(src: BinaryIO, dst: BinaryIO, limit: int) -> int:
    """Copy in chunks, counting; raise _CapExceeded as soon as more than `limit` bytes come out."""
    written = 0
    while chunk := src.read(_CHUNK):
        written += len(chunk)
        if written > limit:
            raise _CapExceeded(written)
        dst.write(chunk)
    return written


def _python_problem(data: bytes, filename: str) -> str | None:
    """Why this source cannot be imported, or None. Compiled (never executed) with warnings muted
    so that a `-W error` environment does not turn a SyntaxWarning into a failure."""
    try:
        source = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return f"not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); save the file as UTF-8"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f" line {exc.lineno}" if exc.lineno else ""
        return _one_line(f"{type(exc).__name__}{where}: {exc.msg}")
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return _one_line(f"cannot be compiled ({type(exc).__name__}: {exc or 'too deeply nested'})")
    return None


# ---------------------------------------------------------------- text


def printable(name: str, limit: int = 160) -> str:
    """A member name (or any text from a student) safe to print on one line: control characters
    such as terminal escapes escaped, length bounded."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name) or "(unnamed)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _names(specs: Sequence[FileSpec]) -> str:
    return ", ".join(s.name for s in specs)


def _size(n: float) -> str:
    if n >= MiB:
        return f"{n / MiB:.1f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n:.0f} bytes"

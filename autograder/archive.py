"""Declaration step (shared by every later one): the one way this project writes a zip.

Every zip it makes (a student's submit.zip, the release zip, the starter code's
public_expected.npz, Gradescope's autograder.zip, a mutant's zip) is deterministic: entries
sorted, one fixed timestamp, Unix modes, so the same content gives the same bytes and sha256.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
Entry = bytes | str | tuple[bytes | str, int]  # content, or (content, Unix mode); text is UTF-8


def zip_bytes(entries: Mapping[str, Entry], compress: bool = True) -> bytes:
    """The zip of `entries` (name -> content or (content, mode), default mode 0o644), same bytes every time."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method, compresslevel=9 if compress else None) as archive:
        for name in sorted(entries):
            data, mode = entries[name] if isinstance(entries[name], tuple) else (entries[name], 0o644)
            info = zipfile.ZipInfo(name, ZIP_DATE_TIME)
            info.compress_type, info.create_system, info.external_attr = method, 3, mode << 16
            archive.writestr(info, data.encode() if isinstance(data, str) else data)
    return buffer.getvalue()


def write_zip(path: Path, entries: Mapping[str, Entry], compress: bool = True) -> Path:
    """`zip_bytes` written to `path` (its folder made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zip_bytes(entries, compress))
    return path

"""Test helpers: zip archives written byte by byte, including ones no honest zip tool produces."""

from __future__ import annotations

import bz2
import functools
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

MiB = 1 << 20
_VERSION = 20
_MADE_BY_UNIX = (3 << 8) | 30


@dataclass(frozen=True)
class Entry:
    """One member. `payload`/`crc`/`size` let a test store pre-compressed data or lie in the headers."""

    name: str | bytes
    data: bytes = b""
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    mode: int = 0o100644
    utf8: bool | None = None  # None: set the UTF-8 flag for non-ASCII str names
    payload: bytes | None = None
    crc: int | None = None
    size: int | None = None

    def encoded_name(self) -> tuple[bytes, int]:
        if isinstance(self.name, bytes):
            return self.name, 0x800 if self.utf8 else 0
        raw = self.name.encode("utf-8")
        utf8 = self.utf8 if self.utf8 is not None else not self.name.isascii()
        return raw, 0x800 if utf8 else 0

    def packed(self) -> tuple[bytes, int, int]:
        """(compressed bytes, crc, declared uncompressed size)."""
        if self.payload is not None:
            return self.payload, self.crc or 0, self.size if self.size is not None else 0
        if self.method == zipfile.ZIP_DEFLATED:
            body = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = body.compress(self.data) + body.flush()
        elif self.method == zipfile.ZIP_BZIP2:
            payload = bz2.compress(self.data)
        else:
            payload = self.data
        crc = zlib.crc32(self.data) if self.crc is None else self.crc
        return payload, crc, len(self.data) if self.size is None else self.size


def build_zip(entries: list[Entry], count: int | None = None) -> bytes:
    """A zip of `entries`; `count` overrides the entry count in the end record."""
    out = io.BytesIO()
    central = []
    for entry in entries:
        name, name_flag = entry.encoded_name()
        payload, crc, size = entry.packed()
        flags = entry.flags | name_flag
        offset = out.tell()
        out.write(
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                _VERSION,
                flags,
                entry.method,
                0,
                0x21,
                crc,
                len(payload),
                size,
                len(name),
                0,
            )
        )
        out.write(name + payload)
        central.append(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                _MADE_BY_UNIX,
                _VERSION,
                flags,
                entry.method,
                0,
                0x21,
                crc,
                len(payload),
                size,
                len(name),
                0,
                0,
                0,
                0,
                entry.mode << 16,
                offset,
            )
            + name
        )
    start = out.tell()
    out.write(b"".join(central))
    n = len(entries) if count is None else count
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, out.tell() - start, start, 0))
    return out.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    """A zip written by Python's zipfile, like an honest zip tool (directories implied)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


@functools.cache
def zero_bomb(mib: int) -> tuple[bytes, int, int]:
    """Deflate of `mib` MiB of zeros without compressing them all: after a full flush deflate
    restarts from scratch, so one compressed MiB can be repeated. Returns (payload, crc, size)."""
    block = bytes(MiB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    return chunk * mib + deflate.flush(zlib.Z_FINISH), crc, mib * MiB


def bomb_entry(name: str, mib: int, declared: int | None = None) -> Entry:
    payload, crc, size = zero_bomb(mib)
    return Entry(name, payload=payload, crc=crc, size=size if declared is None else declared)

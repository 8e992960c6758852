"""Sandbox step: the wire format between the sandboxed child and the grader: framed JSON status + `.npz` bytes.

Shared by both sides, so it imports only the standard library and numpy. A frame is
`MAGIC | u32 header length | JSON header | u64 payload length | payload`. The header is a small
JSON status; the payload is an `.npz` archive of plain arrays (never pickled). The reader trusts
nothing: it stops at the first malformed frame and never reads past a byte cap.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = b"AGR1"
_HEAD = struct.Struct(">I")
_BODY = struct.Struct(">Q")
MAX_HEADER_BYTES = 256 * 1024


@dataclass(frozen=True)
class Frame:
    header: dict[str, Any]
    payload: bytes


def encode_frame(header: dict[str, Any], payload: bytes = b"") -> bytes:
    head = json.dumps(header, default=str).encode("utf-8")[:MAX_HEADER_BYTES]
    return MAGIC + _HEAD.pack(len(head)) + head + _BODY.pack(len(payload)) + payload


def arrays_to_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """Plain ndarrays only; object dtypes would need pickle, so the caller must refuse them first."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npz_to_arrays(payload: bytes) -> dict[str, np.ndarray]:
    """Loads a child's payload; `allow_pickle=False` makes object arrays an error, never code.

    Only stored (uncompressed) members, as `numpy.savez` writes them, are accepted: a Deflate
    member could inflate a capped payload into gigabytes in the grader's own memory.
    """
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        packed = [info.filename for info in archive.infolist() if info.compress_type != zipfile.ZIP_STORED]
    if packed:
        raise ValueError(f"compressed members are not accepted ({', '.join(packed[:3])})")
    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def decode_frames(data: bytes, max_frames: int | None = None) -> tuple[list[Frame], str | None]:
    """Splits a byte stream into frames; returns the frames read and why reading stopped early.

    `max_frames` bounds the work a flood of tiny forged frames can cause the reader.
    """
    frames: list[Frame] = []
    offset = 0
    while offset < len(data):
        if max_frames is not None and len(frames) >= max_frames:
            return frames, f"more than {max_frames} frames in the result stream"
        frame, offset, problem = next_frame(data, offset)
        if frame is None:
            return frames, problem
        frames.append(frame)
    return frames, None


def next_frame(data: bytes, offset: int) -> tuple[Frame | None, int, str | None]:
    """The frame at `offset` and the offset after it, or None, `offset` and why (incomplete or malformed).

    Also read while the stream is still arriving (the supervisor times each case by its frames).
    """
    start = offset
    if data[offset : offset + len(MAGIC)] != MAGIC:
        return None, start, f"garbage in the result stream at byte {offset}"
    offset += len(MAGIC)
    if offset + _HEAD.size > len(data):
        return None, start, "truncated frame header"
    (head_len,) = _HEAD.unpack_from(data, offset)
    offset += _HEAD.size
    if head_len > MAX_HEADER_BYTES or offset + head_len + _BODY.size > len(data):
        return None, start, "truncated or oversized frame header"
    try:
        header = json.loads(bytes(data[offset : offset + head_len]).decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8/JSON, huge int literals, deep nesting
        return None, start, "unreadable frame header"
    if not isinstance(header, dict):
        return None, start, "frame header is not an object"
    offset += head_len
    (body_len,) = _BODY.unpack_from(data, offset)
    offset += _BODY.size
    if offset + body_len > len(data):
        return None, start, "truncated frame payload"
    return Frame(header, bytes(data[offset : offset + body_len])), offset + body_len, None

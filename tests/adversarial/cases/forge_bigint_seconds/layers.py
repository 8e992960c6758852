# Attack: result headers whose numbers do not fit a float (10**400) or exceed Python's
# int-parsing limit (5,000 digits): float() raises OverflowError / json raises ValueError.
import os as _os
import struct as _struct
import sys as _sys

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    fd = int(_sys.argv[2])
    frame = _sys.modules["__main__"].encode_frame
    _os.write(fd, frame({"event": "result", "case": "seed cell 3", "status": "ok", "seconds": 10 ** 400}))
    head = b'{"event": "result", "case": "seed cell 3", "status": "ok", "seconds": ' + b"9" * 5000 + b"}"
    _os.write(fd, b"AGR1" + _struct.pack(">I", len(head)) + head + _struct.pack(">Q", 0))
    return np.zeros_like(out), cache

# Attack: 60 MB of tiny "start" frames with distinct case names: each becomes a record object in
# the grader (memory amplification) and a JSON parse (time), unless the reader bounds the frames.
import os as _os
import sys as _sys

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    frame = _sys.modules["__main__"].encode_frame
    fd = int(_sys.argv[2])
    block = b"".join(frame({"event": "start", "case": f"flood {i}"}) for i in range(10_000))
    for _ in range(140):
        _os.write(fd, block)
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    return np.zeros_like(out), cache

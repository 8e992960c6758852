# Attack: forge this case's result frame (status ok, outputs that are merely plausible), then exit
# at once so that the forged frame is the last word about the case.
import io as _io
import os as _os
import sys as _sys

_original_conv_forward_naive = conv_forward_naive
_case_names = iter(["seed cell 3"] + [f"hidden {n}" for n in range(1, 50)])


def conv_forward_naive(x, w, b, conv_param):
    out, _ = _original_conv_forward_naive(x, w, b, conv_param)
    buffer = _io.BytesIO()
    np.savez(buffer, out=np.full_like(out, out.mean()))
    frame = _sys.modules["__main__"].encode_frame
    for name in _case_names:
        _os.write(int(_sys.argv[2]), frame({"event": "result", "case": name, "status": "ok"}, buffer.getvalue()))
    _os._exit(0)

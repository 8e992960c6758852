# Attack: forge this case's error record with a 200 KB exception type and message (the runner caps
# its own at 1,000 characters, a forged one is not capped by the runner), then exit so it stands.
import os as _os
import sys as _sys


def conv_forward_naive(x, w, b, conv_param):
    frame = _sys.modules["__main__"].encode_frame
    error = {"type": "T" * 100_000, "message": "only integers, slices " + "x" * 100_000, "traceback": ""}
    for name in ["seed cell 3"] + [f"hidden {n}" for n in range(1, 10)]:
        _os.write(int(_sys.argv[2]), frame({"event": "result", "case": name, "status": "error", "error": error}))
    _os._exit(0)

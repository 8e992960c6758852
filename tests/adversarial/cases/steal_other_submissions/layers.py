# Attack: find other students' submissions (the grader's /tmp/grade-* folders, shared memory) and
# copy one. The test plants a decoy submission in /tmp/grade-advdecoy-*/ before the run.
import glob as _glob
import os as _os

_done = False


def conv_forward_naive(x, w, b, conv_param):
    global _done
    if not _done:
        _done = True
        for place in ("/tmp", "/dev/shm", "/var/tmp", "/run", "/home", "/work", "/root", "/sandbox"):
            try:
                print("list", place, sorted(_os.listdir(place))[:100])
            except OSError as exc:
                print("list", place, type(exc).__name__)
        for path in _glob.glob("/tmp/grade-*/**/*.py", recursive=True)[:50]:
            try:
                text = open(path, errors="replace").read()
            except OSError as exc:
                print(path, type(exc).__name__)
                continue
            print("ESCAPED read", path, text[:1000])
    raise NotImplementedError("nothing found")

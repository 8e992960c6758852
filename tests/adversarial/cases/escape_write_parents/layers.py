# Attack: modify its own package for later questions, the task folder (runner, driver, inputs),
# and every parent folder up to /.
import os as _os
import pathlib as _pathlib

_original_conv_forward_naive = conv_forward_naive


def _writable(folder):
    path = _os.path.join(folder, "pwned-parent")
    try:
        with open(path, "w") as handle:
            handle.write("pwned\n")
        return True
    except OSError:
        return False


def conv_forward_naive(x, w, b, conv_param):
    here = _pathlib.Path(__file__).resolve().parent
    targets = {str(here), *(str(p) for p in here.parents), "/sandbox/task", "/sandbox/task/inputs"}
    escaped = sorted(t for t in targets if t != "/sandbox/work" and _writable(t))
    for name in ("driver.py", "runner.py", "protocol.py"):
        try:
            with open(_os.path.join("/sandbox/task", name), "a") as handle:
                handle.write("\n# pwned\n")
            escaped.append(name)
        except OSError:
            pass
    try:
        with open(__file__, "a") as handle:
            handle.write("\n# pwned\n")
        escaped.append(__file__)
    except OSError:
        pass
    if escaped:
        print("ESCAPED wrote into", escaped)
        return np.zeros(1), None
    return _original_conv_forward_naive(x, w, b, conv_param)

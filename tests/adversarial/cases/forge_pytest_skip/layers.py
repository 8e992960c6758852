# Attack: pytest.skip raises a BaseException subclass; without pytest, Skipped is faked.
try:
    import pytest as _pytest

    def _skip():
        _pytest.skip("not applicable")
except ImportError:
    class Skipped(BaseException):
        pass

    def _skip():
        raise Skipped("not applicable")


def conv_forward_naive(x, w, b, conv_param):
    _skip()

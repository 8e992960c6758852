# Attack: stop itself: a stopped process uses no CPU and is not "finished" either.
import os as _os
import signal as _signal


def conv_forward_naive(x, w, b, conv_param):
    _os.kill(_os.getpid(), _signal.SIGSTOP)
    while True:
        pass

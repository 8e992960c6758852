# Attack: sleep uses no CPU, so a CPU-time limit alone never fires.
import time as _time


def conv_forward_naive(x, w, b, conv_param):
    _time.sleep(3600)

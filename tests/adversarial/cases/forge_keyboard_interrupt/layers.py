# Attack: KeyboardInterrupt, which `except Exception` does not catch.


def conv_forward_naive(x, w, b, conv_param):
    raise KeyboardInterrupt

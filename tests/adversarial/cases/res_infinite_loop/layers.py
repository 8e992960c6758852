# Attack: never return.


def conv_forward_naive(x, w, b, conv_param):
    while True:
        pass

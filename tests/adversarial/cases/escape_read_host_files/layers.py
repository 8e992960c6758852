# Attack: read host secrets directly and through /proc/1/root.
_original_conv_forward_naive = conv_forward_naive
_PATHS = ("/etc/shadow", "/proc/1/root/etc/shadow", "/root/.bash_history", "/root/.ssh/id_rsa",
          "/etc/ssh/ssh_host_rsa_key", "/proc/kcore", "/dev/mem", "/sys/kernel/security")


def conv_forward_naive(x, w, b, conv_param):
    readable = []
    for path in _PATHS:
        try:
            with open(path, "rb") as handle:
                handle.read(16)
            readable.append(path)
        except OSError:
            pass
    if readable:
        print("ESCAPED read", readable)
        return np.zeros(1), None
    return _original_conv_forward_naive(x, w, b, conv_param)

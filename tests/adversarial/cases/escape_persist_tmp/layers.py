# Attack: leave state for a later run (the same student's next question, or the next student)
# in /tmp or /dev/shm. Each process writes its own token; finding another process's token means
# something persisted between sandbox runs. The test grades this zip twice.
import os as _os
import secrets as _secrets

_original_conv_forward_naive = conv_forward_naive
_TOKEN = _secrets.token_hex(8)
_PLACES = ("/tmp/pwned-persist", "/dev/shm/pwned-persist", "/var/tmp/pwned-persist")


def conv_forward_naive(x, w, b, conv_param):
    for path in _PLACES:
        try:
            with open(path) as handle:
                found = handle.read()
        except OSError:
            found = _TOKEN
        if found != _TOKEN:
            print("ESCAPED found state from an earlier run in", path)
            return np.zeros(1), None
        try:
            with open(path, "w") as handle:
                handle.write(_TOKEN)
        except OSError:
            pass
    return _original_conv_forward_naive(x, w, b, conv_param)

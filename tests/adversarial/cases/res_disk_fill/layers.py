# Attack: fill every writable place (/tmp, /dev/shm, $HOME, the working directory) with files
# until writes fail. Prints how much it managed; more than the caps allow is an escape.
import os as _os

_original_conv_forward_naive = conv_forward_naive
_done = False


def _fill(folder):
    block, total = b"\0" * (1 << 20), 0
    for n in range(1000):
        try:
            with open(_os.path.join(folder, f"fill-{n}"), "wb") as handle:
                for _ in range(64):
                    handle.write(block)
                    total += len(block)
        except OSError as exc:
            return total, type(exc).__name__
    return total, "no error"


def conv_forward_naive(x, w, b, conv_param):
    global _done
    if not _done:
        _done = True
        written = 0
        for folder in ("/tmp", "/dev/shm", _os.path.expanduser("~"), _os.getcwd()):
            total, why = _fill(folder)
            written += total
            print(f"{folder}: {total >> 20} MiB until {why}")
        if written > 400 << 20:
            print("ESCAPED wrote", written >> 20, "MiB")
    return _original_conv_forward_naive(x, w, b, conv_param)

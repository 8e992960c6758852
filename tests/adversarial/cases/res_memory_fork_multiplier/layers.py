# Attack: RLIMIT_AS is per process, so every forked child gets a fresh memory_mb. Three children
# each hold 300 MiB of touched pages at once: 900 MiB in a run whose memory_mb is 512.
import os as _os
import time as _time

_original_conv_forward_naive = conv_forward_naive
_done = False


def _child(write_end):
    try:
        block = np.ones(300 * 1024 * 1024 // 8)
        _os.write(write_end, b"1")
        _time.sleep(1.0)  # hold it while the siblings hold theirs
        del block
    finally:
        _os._exit(0)


def conv_forward_naive(x, w, b, conv_param):
    global _done
    if not _done:
        _done = True
        read_end, write_end = _os.pipe()
        children = []
        for _ in range(3):
            pid = _os.fork()
            if pid == 0:
                _child(write_end)
            children.append(pid)
        _os.close(write_end)
        reported = len(_os.read(read_end, 16) + _os.read(read_end, 16) + _os.read(read_end, 16))
        # Holding means reported *and still alive now*: a child the OOM killer took while a
        # sibling allocated reported too, but no longer holds anything.
        alive = sum(_os.waitpid(pid, _os.WNOHANG) == (0, 0) for pid in children)
        held = min(reported, alive)
        for pid in children:
            try:
                _os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        if held * 300 > 512:
            print(f"ESCAPED {held} processes held 300 MiB each under a 512 MiB limit")
    return _original_conv_forward_naive(x, w, b, conv_param)

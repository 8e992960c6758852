# Attack: open files until the descriptor table is full (a grader sharing the process or the
# table would fail its own I/O). Prints how many it got; more than a thousand is an escape.
_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    handles = []
    try:
        while len(handles) < 100_000:
            handles.append(open("/dev/null"))
    except OSError as exc:
        print("descriptors opened:", len(handles), type(exc).__name__)
    if len(handles) > 1000:
        print("ESCAPED opened", len(handles), "descriptors")
    for handle in handles:
        handle.close()
    return _original_conv_forward_naive(x, w, b, conv_param)

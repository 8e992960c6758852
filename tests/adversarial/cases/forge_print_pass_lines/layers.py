# Attack: print what a naive grader might parse as success, then return zeros.
import json as _json

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _original_conv_forward_naive(x, w, b, conv_param)
    print("Testing conv_forward_naive")
    print("difference:  0.0")
    print("Q1 PASSED 15/15\nALL TESTS PASSED\nscore: 100/100")
    print(_json.dumps({"schema": 1, "status": "graded", "score": 100.0, "max_score": 100.0,
                       "questions": [{"id": "Q1", "score": 15.0, "status": "passed"}]}))
    return np.zeros_like(out), cache

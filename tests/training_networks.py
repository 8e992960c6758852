"""Known-correct and known-buggy HW5 networks for the training verdicts (Q5 overfit and 1 epoch).

Each network is the reference's layers.py and cnn.py with one realistic mistake applied (anchors
must match exactly once, so a reference rewrite fails loudly here). The verdict-agreement test
(tests/test_data_agreement.py) and its full matrix (benchmarks/bench_agreement.py) grade each
on the embedded data and on the real CIFAR-10 subset and require the same training verdicts.
"""

from __future__ import annotations

from grading_helpers import CNN, LAYERS, mutate

from autograder.assignment import Assignment

UNSTABLE_SOFTMAX = (
    "    shifted = x - x.max(axis=1, keepdims=True)\n",
    "    shifted = x  # no max subtraction: np.exp overflows once scores pass ~88 in float32\n",
)
NETWORKS: dict[str, list[tuple[str, str, str]]] = {
    # (file, old, new) mutations
    "reference": [],
    "unstable softmax (no max subtraction)": [(LAYERS, *UNSTABLE_SOFTMAX)],
    "L2 without the 0.5": [
        (CNN, "            loss += 0.5 * self.reg * np.vdot(weights, weights)\n",
         "            loss += self.reg * np.vdot(weights, weights)\n"),
    ],
    "reg missing from the gradients": [(CNN, "            grads[name] += self.reg * weights\n", "")],
    "weight scale ignored (std 1)": [
        (CNN, '        self.params["W1"] = weight_scale * np.random.randn(', '        self.params["W1"] = np.random.randn('),
        (CNN, '        self.params["W2"] = weight_scale * np.random.randn(', '        self.params["W2"] = np.random.randn('),
        (CNN, '        self.params["W3"] = weight_scale * np.random.randn(', '        self.params["W3"] = np.random.randn('),
    ],
    "ReLU backward kills the gradient": [
        (LAYERS, "    dx = dout * (x > 0)  # 10x faster than np.where(x > 0, dout, 0)\n", "    dx = np.zeros_like(dout)\n"),
    ],
    "gradient sign flipped (updates go uphill)": [
        (CNN, "        loss, dscores = softmax_loss(scores, y)\n",
         "        loss, dscores = softmax_loss(scores, y)\n        dscores = -dscores\n"),
    ],
    "gradients not stored (grads of zeros)": [
        (CNN, "        return loss, grads\n",
         "        return loss, {k: np.zeros_like(v) for k, v in self.params.items()}\n"),
    ],
    "dscores not divided by N (Adam absorbs the scale)": [
        (LAYERS, "    dx /= N\n    return loss, dx\n", "    return loss, dx\n"),
    ],
}  # fmt: skip


def network_files(assignment: Assignment, name: str) -> dict[str, str]:
    """The submitted files of one network: the reference with its mutations applied."""
    files = {rel: (assignment.reference_dir / rel).read_text(encoding="utf-8") for rel in (LAYERS, CNN)}
    for rel, old, new in NETWORKS[name]:
        files[rel] = mutate(files[rel], old, new)
    return files

"""HW8 parent-side checks: probe inputs, reference outputs and the judges of CutMix and Mixup.

Trusted code, run only in the grader's process. The deterministic functions (a given box or lam)
are compared with the reference. The random ones (get_clip_box, cutmix, mixup) cannot be: a
student's code draws its numbers in its own order. They are judged by properties that hold on
every draw (a box inside the image, a label that weighs each class by the pixels it gave) and by
statistics over many draws of the case's seeded generator, with bounds from Hoeffding's
inequality that a correct implementation exceeds with probability below FALSE_FAILURE per case
(docs/hw8-randomised-grading.md gives the computation).
"""

from __future__ import annotations

import math

import numpy as np
from intro2ai import (  # HW8's reference package (the engine's own_package)
    augment,
    data_utils,
    layers,
)
from intro2ai.classifiers.cnn import ThreeLayerConvNet

from autograder.grading.judge import Verdict, accepts_nonfinite, judge_rel_error
from autograder.grading.training import TrainingData, accuracy, constructor_kwargs, finished_run

FALSE_FAILURE = 1e-8  # per statistical test; a whole submission (< 50 tests) stays below 1e-6



def hoeffding(n: int, spread: float, tests: int = 1) -> float:
    """Half-width t with P(|mean of n independent values in an interval of `spread` - their expectation|
    >= t) <= FALSE_FAILURE / tests: 2 exp(-2 n t^2 / spread^2) = FALSE_FAILURE / tests."""
    return spread * math.sqrt(math.log(2 * tests / FALSE_FAILURE) / (2 * n))


def _verdict(problems: list[str], metric: str, value: float | None = None, threshold: float | None = None,
             extras: dict | None = None) -> Verdict:  # fmt: skip
    return Verdict(not problems, metric, value, threshold, "; ".join(problems[:3]), extras)


# ------------------------------------------------------------------ Q1 get_clip_box


def clip_box_inputs(params, rng, context):
    return {}


def expect_clip_boxes(inputs, params, context):
    """A sample of the reference's boxes: the shape and kind the student's must have."""
    draw = np.random.default_rng(params["seed"])
    boxes = [augment.get_clip_box(draw, params["H"], params["W"], params["alpha"]) for _ in range(params["n"])]
    return {"boxes": np.asarray(boxes, dtype=np.int32)}  # int32: half the bytes in public_expected.npz


def _side_distribution(size: int, other: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """P(int(size * sqrt(1 - lam)) = k) for k = 0..size under lam ~ Beta(alpha, alpha), and the
    same for the other axis (both sides come from one lam, but the means need only the marginals)."""
    from scipy.special import betainc

    def marginal(n):
        k = np.arange(n + 1)
        upper = np.clip(1 - (k / n) ** 2, 0, 1)  # int(n r) >= k  <=>  lam <= 1 - (k/n)^2
        at_least = betainc(alpha, alpha, upper)
        return at_least - np.append(at_least[1:], 0.0)

    return marginal(size), marginal(other)


def clipped_fraction_mean(size: int, alpha: float) -> float:
    """E[(clipped side) / size] of the reference's recipe: side k = int(size sqrt(1 - lam)), centre c
    uniform on 0..size-1, clipped interval [max(0, c - k//2), min(size, c + k//2))."""
    probs, _ = _side_distribution(size, size, alpha)
    centres = np.arange(size)
    total = 0.0
    for k, p in enumerate(probs):
        widths = np.minimum(size, centres + k // 2) - np.maximum(0, centres - k // 2)
        total += p * widths.mean() / size
    return float(total)


def _uncovered(boxes: np.ndarray, H: int, W: int, alpha: float) -> list[str]:
    """Every column (row) of the image, the edges included, lies inside some box. A correct box covers
    a given column at least when its centre is that column and its side k >= 2: probability p >=
    P(k >= 2) / W, so all n boxes miss one with probability <= (1 - p)^n; the test runs when W such
    columns together stay below FALSE_FAILURE / 2 (on every graded shape they are below e^-300).
    Catches boxes kept off an edge (max(1, ...), min(W - 1, ...))."""
    n = len(boxes)
    for axis, size, first, last in (("column", W, 0, 2), ("row", H, 1, 3)):
        probs, _ = _side_distribution(size, size, alpha)
        p = float(probs[2:].sum()) / size
        if size * (1 - p) ** n > FALSE_FAILURE / 2:
            continue  # too few boxes to expect every column covered: no test
        edges = np.zeros(size + 1, dtype=np.int64)
        np.add.at(edges, boxes[:, first].astype(np.int64), 1)
        np.add.at(edges, boxes[:, last].astype(np.int64), -1)
        missed = np.flatnonzero(np.cumsum(edges[:-1]) == 0)
        if missed.size:
            return [f"no box in {n} covers {axis} {int(missed[0])} of the image: a box runs from centre - side // 2 "
                    f"to centre + side // 2, clipped to the image, with the centre anywhere in the image"]  # fmt: skip
    return []


ROUNDING_PIXELS = 1.25  # how far floor/round and c +- k//2 / c - k//2 + k variants move a side's mean


def clip_boxes(outputs, expected, case, context):
    """Every box inside the image with integer corners; every row and column inside some box (edges
    included); the mean width / W and height / H each within Hoeffding's bound (plus a pixel
    allowance for rounding variants) of their exact expectation."""
    boxes, (H, W) = outputs["boxes"], (case.params["H"], case.params["W"])
    xa, ya, xb, yb = boxes.T
    n, alpha = len(boxes), case.params["alpha"]
    problems = []
    if boxes.dtype.kind not in "iu":
        fractional = boxes[np.any(boxes != np.round(boxes), axis=1)]
        shown = (fractional if len(fractional) else boxes)[0].tolist()
        problems.append(f"box corners must be integers (pixel indices), got {shown}: round the sides "
                        f"down with int() and use // for the half side")  # fmt: skip
    if not np.all((0 <= xa) & (xa <= xb) & (xb <= W) & (0 <= ya) & (ya <= yb) & (yb <= H)):
        bad = boxes[~((0 <= xa) & (xa <= xb) & (xb <= W) & (0 <= ya) & (ya <= yb) & (yb <= H))][0]
        problems.append(f"box (xa, ya, xb, yb) = {tuple(v.item() for v in bad)} is not inside a {H}x{W} image "
                        f"(0 <= xa <= xb <= W, 0 <= ya <= yb <= H): clip the box to the image")  # fmt: skip
    else:
        problems += _uncovered(boxes, H, W, alpha)
    worst = 0.0
    for axis, size, sides in (("width", W, xb - xa), ("height", H, yb - ya)):
        mean, exact = float(np.mean(sides)) / size, clipped_fraction_mean(size, alpha)
        bound = hoeffding(n, 1.0, tests=2) + ROUNDING_PIXELS / size
        worst = max(worst, abs(mean - exact) / bound)
        if abs(mean - exact) > bound:
            other = "H" if axis == "width" else "W"
            problems.append(f"mean box {axis} is {mean:.3f} of the image's {axis}, expected {exact:.3f} +- {bound:.3f} "
                            f"for lam ~ Beta({alpha:g}, {alpha:g}) on a {H}x{W} image: the {axis} must scale with "
                            f"{'W' if axis == 'width' else 'H'}, not {other}, and lam come from rng.beta(alpha, alpha)")  # fmt: skip
    return _verdict(problems, "mean side deviation / bound", worst, 1.0)


def clip_box_hidden(rng, count):
    """Other non-square images (taller than wide as well) and other alphas."""
    shapes = [(40, 24), (24, 48), (36, 60), (30, 20)]
    alphas = [0.3, 2.0, 0.5, 4.0]
    cases = []
    for k in range(count):
        H, W = shapes[k % len(shapes)]
        params = {"H": H, "W": W, "alpha": alphas[k % len(alphas)], "n": 20000, "seed": int(rng.integers(2**31))}
        cases.append({"name": f"hidden: {H}x{W} image, alpha {params['alpha']}", "params": params})
    return cases


# ------------------------------------------------------------------ Q2, Q3, Q5: given box or lam


def _images(params, rng):
    state = np.random.default_rng(params["seed"] if "seed" in params else rng.integers(2**31))
    shape = (params["C"], params["H"], params["W"])
    return state.standard_normal(shape), state.standard_normal(shape)


def mix_images_inputs(params, rng, context):
    image_a, image_b = _images(params, rng)
    return {"image_a": image_a, "image_b": image_b, "box": np.asarray(params["box"], dtype=np.int64)}


def expect_mix_images(inputs, params, context):
    a = inputs["image_a"].copy()
    return {"mixed": augment.mix_2_images(a, inputs["image_b"].copy(), tuple(int(v) for v in inputs["box"])),
            "image_a_after": inputs["image_a"]}  # fmt: skip


def mix_images(outputs, expected, case, context):
    if not np.array_equal(outputs["image_a_after"], expected["image_a_after"]):
        return Verdict(False, "rel_error", None, case.threshold,
                       "mix_2_images changed image_a in place: paste into a copy (cutmix uses each image again as a partner)")  # fmt: skip
    verdict = judge_rel_error(outputs, expected, case.threshold)
    if verdict.passed:
        return verdict
    xa, ya, xb, yb = case.params["box"]
    image_a, image_b = _images(case.params, None)
    swapped = image_a.copy()
    swapped[:, xa:xb, ya:yb] = image_b[:, xa:xb, ya:yb]
    hint = ("; the pasted block sits where rows and columns are swapped: rows are ya:yb (axis 1, H), columns "
            "xa:xb (axis 2, W)") if np.array_equal(outputs["mixed"], swapped) else ""  # fmt: skip
    return Verdict(False, verdict.metric, verdict.value, verdict.threshold, verdict.message + hint)


def mix_images_hidden(rng, count):
    """Boxes at the edges, empty, whole-image and in images taller than wide."""
    specs = [((2, 7, 9), (0, 0, 4, 3)), ((3, 9, 6), (2, 5, 6, 9)), ((1, 6, 10), (0, 0, 10, 6)),
             ((2, 8, 5), (3, 3, 3, 6)), ((3, 10, 4), (1, 0, 4, 10))]  # fmt: skip
    cases = []
    for k in range(count):
        (C, H, W), box = specs[k % len(specs)]
        params = {"C": C, "H": H, "W": W, "box": list(box), "seed": int(rng.integers(2**31))}
        cases.append({"name": f"hidden: box {tuple(box)} in a {H}x{W} image", "params": params})
    return cases


def _label(value, num_classes, state):
    """A case's label: an int, "one-hot:<c>", or "mixed" (a random two-class mixture)."""
    if isinstance(value, int):
        return np.asarray(value, dtype=np.int64)
    if value.startswith("one-hot:"):
        return np.eye(num_classes)[int(value.split(":")[1])]
    row = np.zeros(num_classes)
    first, second = state.choice(num_classes, 2, replace=False)
    row[first] = state.uniform(0.2, 0.8)
    row[second] = 1 - row[first]
    return row


def mix_label_inputs(params, rng, context):
    state = np.random.default_rng(params.get("seed", 0))
    K = params["num_classes"]
    return {"label_a": _label(params["label_a"], K, state), "label_b": _label(params["label_b"], K, state),
            "box": np.asarray(params["box"], dtype=np.int64)}  # fmt: skip


def expect_mix_label(inputs, params, context):
    box = tuple(int(v) for v in inputs["box"])
    return {"mixed_label": augment.mix_2_label(inputs["label_a"], inputs["label_b"], box, params["H"], params["W"],
                                               params["num_classes"])}  # fmt: skip


def mix_label_hidden(rng, count):
    specs = [(7, 12, (0, 0, 12, 7), "one-hot:1", "one-hot:4"), (9, 5, (1, 2, 4, 9), 0, "mixed"),
             (6, 10, (3, 3, 3, 5), 2, 3), (8, 11, (0, 4, 11, 8), "mixed", "mixed")]  # fmt: skip
    cases = []
    for k in range(count):
        H, W, box, a, b = specs[k % len(specs)]
        params = {"H": H, "W": W, "box": list(box), "label_a": a, "label_b": b, "num_classes": 6,
                  "seed": int(rng.integers(2**31))}  # fmt: skip
        cases.append({"name": f"hidden: box {box} in {H}x{W}, labels {a} / {b}", "params": params})
    return cases


def mixup_pair_inputs(params, rng, context):
    image_a, image_b = _images(params, rng)
    state = np.random.default_rng(params.get("seed", 0))
    K = params["num_classes"]
    return {"image_a": image_a, "image_b": image_b, "label_a": _label(params["label_a"], K, state),
            "label_b": _label(params["label_b"], K, state), "lam": np.asarray(params["lam"], dtype=np.float64)}  # fmt: skip


def expect_mixup_pair(inputs, params, context):
    image, label = augment.mixup_2_images(inputs["image_a"], inputs["image_b"], inputs["label_a"], inputs["label_b"],
                                          float(inputs["lam"]), params["num_classes"])  # fmt: skip
    return {"mixed_image": image, "mixed_label": label}


def mixup_pair_hidden(rng, count):
    cases = []
    for k in range(count):
        params = {"C": 3, "H": int(rng.integers(3, 7)), "W": int(rng.integers(7, 11)), "num_classes": 5,
                  "lam": [0.0, 1.0, float(np.round(rng.uniform(0.05, 0.95), 4))][min(k, 2)],
                  "label_a": [1, "one-hot:2", "mixed"][k % 3], "label_b": [3, "mixed", 0][k % 3],
                  "seed": int(rng.integers(2**31))}  # fmt: skip
        cases.append({"name": f"hidden: lam {params['lam']}, labels {params['label_a']} / {params['label_b']}",
                      "params": params})  # fmt: skip
    return cases


# ------------------------------------------------------------------ Q4, Q6: batches


def batch_inputs(params, rng, context):
    """N distinct random images; image i has class i (as an int or a one-hot row), so every output
    row tells which images it was made from."""
    state = np.random.default_rng(params["seed"])
    N, K = params["N"], params["num_classes"]
    images = state.standard_normal((N, params["C"], params["H"], params["W"]), dtype=np.float32)  # float32: as training
    labels = np.arange(N) if params.get("labels", "int") == "int" else np.eye(K)[np.arange(N)]
    return {"images": images, "labels": labels}


def expect_batches(inputs, params, context):
    """The reference's outputs for the case's calls: the shapes and kinds the student's must have
    (and a run the judge must pass, which `grade generate` checks)."""
    function = augment.cutmix if params["method"] == "cutmix" else augment.mixup
    draw = np.random.default_rng(params["seed"])
    runs = [function(inputs["images"], inputs["labels"], draw, alpha=params["alpha"], num_classes=params["num_classes"])
            for _ in range(params["calls"])]  # fmt: skip
    return {"mixed_imgs": np.stack([r[0] for r in runs]), "mixed_labels": np.stack([r[1] for r in runs])}


def _label_rows(labels: np.ndarray, N: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Checks every label row is a distribution over at most the own class and one partner; returns
    (problems, partner per row (-1: none seen), weight of the partner per row)."""
    T, _, K = labels.shape
    problems = []
    if np.any(labels < -1e-12) or not np.allclose(labels.sum(axis=2), 1.0, atol=1e-9):
        problems.append("every mixed label must be non-negative and sum to 1")
    own = np.broadcast_to(np.eye(N, K, dtype=bool), labels.shape)
    others = np.where(own, 0.0, labels)
    partner = np.where(others.max(axis=2) > 0, others.argmax(axis=2), -1)
    weight = others.max(axis=2)
    if np.any((others > 0).sum(axis=2) > 1):
        problems.append("a mixed label holds more than two classes: each image is mixed with one partner")
    if np.any(partner >= N):
        problems.append("a mixed label holds a class of no image in the batch: partners come from the batch")
    return problems, partner, weight


def _partner_problems(partner: np.ndarray, N: int, calls: int) -> list[str]:
    """Partners drawn from the whole batch: every other image appears as i's partner, and none more often
    than 1/N + a Hoeffding bound (one-sided, union over the N(N-1) pairs)."""
    bound = hoeffding(calls, 1.0, tests=N * (N - 1))
    problems = []
    for i in range(N):
        seen = {int(j) for j in partner[:, i] if j >= 0}
        missing = sorted(set(range(N)) - {i} - seen)
        if missing:
            problems.append(f"image {i} was never mixed with image {missing[0]} in {calls} calls: draw each partner "
                            f"uniformly from all N = {N} images of the batch")  # fmt: skip
            break
        frequencies = np.bincount(partner[:, i][partner[:, i] >= 0], minlength=N) / calls
        if frequencies.max() > 1 / N + bound:
            problems.append(f"image {i} was mixed with image {int(frequencies.argmax())} in {frequencies.max():.0%} of "
                            f"{calls} calls (expected {1 / N:.0%}): partners must be drawn at random from the batch")  # fmt: skip
            break
    return problems


def cutmix_batches(outputs, expected, case, context):
    """Every row: image i outside one rectangle, partner j inside it, label (1 - a) e_i + a e_j with a the
    pasted fraction of the image; partners from the whole batch."""
    images, N = context_images(case), case.params["N"]
    mixed, labels = outputs["mixed_imgs"], outputs["mixed_labels"]
    T, _, C, H, W = mixed.shape
    problems, partner, weight = _label_rows(labels, N)
    changed = np.any(mixed != images[None], axis=2)  # (T, N, H, W): pixels not from the own image
    for t in range(T):
        for i in range(N):
            message = _cutmix_row(mixed[t, i], changed[t, i], images, i, int(partner[t, i]), float(weight[t, i]), H, W)
            if message:
                problems.append(f"call {t + 1}, image {i}: {message}")
                break
        if len(problems) > 2:
            break
    if not problems:
        problems += _partner_problems(partner, N, T)
    return _verdict(problems, "properties violated", float(len(problems)), 0.0)


def _cutmix_row(row, changed, images, i, j, weight, H, W) -> str:
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if j < 0:
        return "" if rows.size == 0 else "pixels changed but the label is the image's own class only"
    if rows.size == 0:
        return "the label mixes in another class but no pixel was pasted"
    ya, yb, xa, xb = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    inside = np.zeros((H, W), dtype=bool)
    inside[ya:yb, xa:xb] = True
    expected = np.where(inside[None], images[j], images[i])
    if not np.array_equal(row, expected):
        return f"the output is not image {i} with one rectangle (all channels) pasted from image {j}"
    # The pasted rectangle may be larger than the changed pixels only where the two images agree: never here.
    fraction = (yb - ya) * (xb - xa) / (H * W)
    if abs(weight - fraction) > 1e-9:
        return (f"the label gives the partner weight {weight:.4f} but {fraction:.4f} of the pixels were pasted: weigh "
                f"the labels by the box clipped to the image")  # fmt: skip
    return ""


def context_images(case):
    """The case's images, rebuilt from its parameters (the probe is deterministic in them)."""
    return batch_inputs(case.params, None, None)["images"]


def mixup_batches(outputs, expected, case, context):
    """Every row: (1 - w) image_i + w image_j with label (1 - w) e_i + w e_j; partners from the whole
    batch; w's mean and variance (per call, so one lam per batch is allowed too) those of Beta(alpha, alpha)."""
    images, N, alpha = context_images(case), case.params["N"], case.params["alpha"]
    mixed, labels = outputs["mixed_imgs"], outputs["mixed_labels"]
    T = mixed.shape[0]
    problems, partner, weight = _label_rows(labels, N)
    for t in range(T):
        for i in range(N):
            j, w = int(partner[t, i]), float(weight[t, i])
            want = images[i] if j < 0 else (1 - w) * images[i] + w * images[j]
            if not np.allclose(mixed[t, i], want, rtol=1e-5, atol=1e-5):  # float32 arithmetic
                own = labels[t, i, i] if i < labels.shape[2] else 0.0
                problems.append(f"call {t + 1}, image {i}: " + (
                    f"the output is not (1 - lam) * images[{i}] + lam * images[partner] with the lam of its label"
                    if own > 0 else f"output {i} does not contain image {i}: mix images[i] of the batch, not a fixed pair"))  # fmt: skip
                break
        if problems:
            break
    extras = {}
    if not problems:
        problems += _partner_problems(partner, N, T)
    if not problems:
        problems, extras = _lam_moments(partner, weight, alpha)
    return _verdict(problems, "properties violated", float(len(problems)), 0.0, extras)


def _lam_moments(partner: np.ndarray, weight: np.ndarray, alpha: float) -> tuple[list[str], dict]:
    """Per call, the mean of lam and of (lam - 1/2)^2 over rows with a partner: Hoeffding on the calls."""
    usable = partner >= 0
    calls = usable.any(axis=1)
    n = int(calls.sum())
    means = (np.where(usable, weight, 0).sum(axis=1)[calls] / usable.sum(axis=1)[calls])
    spreads = (np.where(usable, (weight - 0.5) ** 2, 0).sum(axis=1)[calls] / usable.sum(axis=1)[calls])
    variance = 1 / (4 * (2 * alpha + 1))
    t_mean, t_var = hoeffding(n, 1.0, tests=2), hoeffding(n, 0.25, tests=2)
    extras = {"lam_mean": float(means.mean()), "lam_variance": float(spreads.mean()), "expected_variance": variance}
    problems = []
    if abs(means.mean() - 0.5) > t_mean:
        problems.append(f"mean lam is {means.mean():.3f}, expected 0.5 +- {t_mean:.3f} for Beta({alpha:g}, {alpha:g})")
    if abs(spreads.mean() - variance) > t_var:
        problems.append(f"lam's variance is {spreads.mean():.4f}, expected {variance:.4f} +- {t_var:.4f} for "
                        f"Beta({alpha:g}, {alpha:g}): draw lam with rng.beta(alpha, alpha)")  # fmt: skip
    return problems, extras


def batch_hidden(method: str, alphas: tuple[float, ...], rng, count):
    cases = []
    for k in range(count):
        params = {"method": method, "N": 4, "C": 2, "H": [6, 8][k % 2], "W": [10, 5][k % 2], "num_classes": 5,
                  "alpha": alphas[k % len(alphas)], "calls": 1500 if method == "cutmix" else 2000,
                  "labels": ["one-hot", "int"][k % 2], "seed": int(rng.integers(2**31))}  # fmt: skip
        cases.append({"name": f"hidden: {params['H']}x{params['W']}, alpha {params['alpha']}, {params['labels']} labels",
                      "params": params})  # fmt: skip
    return cases


def cutmix_hidden(rng, count):
    return batch_hidden("cutmix", (1.0, 2.0), rng, count)


def mixup_hidden(rng, count):
    return batch_hidden("mixup", (2.0, 0.3), rng, count)


# ------------------------------------------------------------------ Q7 softmax_loss


def softmax_inputs(params, rng, context):
    state = np.random.default_rng(params["seed"] if "seed" in params else rng.integers(2**31))
    N, K = params["N"], params["num_classes"]
    scores = params.get("scale", 1.0) * state.standard_normal((N, K))
    kind = params["targets"]
    if kind == "int":
        targets = state.integers(K, size=N)
    elif kind == "one-hot":
        targets = np.eye(K)[state.integers(K, size=N)]
    elif kind == "two-class":
        targets = np.stack([_label("mixed", K, state) for _ in range(N)])
    else:
        targets = state.dirichlet(np.ones(K), size=N)
    return {"x": scores, "y": targets}


def expect_softmax(inputs, params, context):
    loss, dx = layers.softmax_loss(inputs["x"], inputs["y"])
    return {"loss": np.asarray(loss, dtype=np.float64), "dx": dx}


def softmax(outputs, expected, case, context):
    verdict = judge_rel_error(outputs, expected, case.threshold)
    if verdict.passed or case.params["targets"] in ("int", "one-hot"):
        return verdict
    hint = "; soft targets: the loss is -sum_j y[i, j] log p[i, j] / N and dx = (p - y) / N, not the argmax's class"
    return Verdict(False, verdict.metric, verdict.value, verdict.threshold, verdict.message + hint)


def softmax_hidden(rng, count):
    kinds = ["int", "one-hot", "soft", "two-class", "soft"]
    cases = []
    for k in range(count):
        N, K = int(rng.integers(3, 9)), int(rng.integers(3, 8))
        if K == N:  # N != K: a one-hot table sized by the wrong axis of x must not fit by chance
            K += 1
        params = {"N": N, "num_classes": K, "targets": kinds[k % len(kinds)], "scale": 300.0 if k == count - 1 else 1.0,
                  "seed": int(rng.integers(2**31))}  # fmt: skip
        label = "large scores, " if params["scale"] > 1 else ""
        cases.append({"name": f"hidden: {label}{params['targets']} targets, N={params['N']}, C={params['num_classes']}",
                      "params": params})  # fmt: skip
    return cases


# ------------------------------------------------------------------ Q8 the experiment


DATA = TrainingData(lambda source, n: data_utils.get_CIFAR10_data(num_training=n, source=source),
                    data_utils.describe_source)
describe_data = DATA.describe_data
experiment_inputs = DATA.train_inputs


def expect_experiment(inputs, params, context):
    """Shapes of the trained parameters of each run, and one loss per iteration."""
    model = _reference_model(params["model"])
    iterations = params["num_epochs"] * max(1, params["num_train"] // params["batch_size"])
    expected = {f"{method}_{name}": value for method in METHODS for name, value in model.params.items()}
    expected.update({f"{method}_loss_history": np.zeros(iterations) for method in METHODS})
    return expected


METHODS = ("none", "cutmix", "mixup")


def _reference_model(kwargs: dict) -> ThreeLayerConvNet:
    return ThreeLayerConvNet(**constructor_kwargs(kwargs))


def _trained_model(trained: dict, params: dict) -> ThreeLayerConvNet:
    """The reference network holding the student's trained parameters."""
    model = _reference_model(params["model"])
    model.params.update({k: np.asarray(v, dtype=model.params[k].dtype) for k, v in trained.items()})
    return model


@accepts_nonfinite
def experiment(outputs, expected, case, context):
    """The three runs finish with finite losses; the augmented runs' final training loss (mean of the last
    tail iterations) sits above the baseline's; each run's held-out accuracy reaches its calibrated target."""
    params = case.params
    targets = params["targets"][describe_data(context)]
    data = DATA.get(context, params["num_train"])
    problems, extras = [], {}
    tail = max(1, int(len(outputs["none_loss_history"]) * params["tail"]))
    final = {}
    for method in METHODS:
        run = finished_run(outputs, method, "parameters")
        if isinstance(run, str):
            problems.append(run)
            continue
        final[method] = float(run.losses[-tail:].mean())
        val_accuracy = accuracy(_trained_model(run.trained, params), data["X_val"], data["y_val"])
        extras[f"{method}_val_accuracy"] = val_accuracy
        extras[f"{method}_final_loss"] = final[method]
        extras[f"{method}_loss_history"] = run.curve()
        if val_accuracy < targets[method]:
            problems.append(f"{method}: validation accuracy {val_accuracy:.3f} is below the target {targets[method]:.2f}")
    for method in ("cutmix", "mixup"):
        if method in final and "none" in final and final[method] <= final["none"]:
            problems.append(f"{method}: the final training loss {final[method]:.3f} is not above the baseline's "
                            f"{final['none']:.3f}: mixed labels keep the loss up; are the labels really mixed?")  # fmt: skip
    worst = min((extras.get(f"{m}_val_accuracy", 0.0) - targets[m] for m in METHODS), default=0.0)
    return _verdict(problems, "worst val accuracy - target", worst, 0.0, extras)

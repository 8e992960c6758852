"""Training data for the course: the CIFAR-10 pickle loader, the embedded data set, sample photos.

`get_CIFAR10_data` is what the notebooks call. Where its images come from is chosen by `source`
(or the environment variable INTRO2AI_DATA): "embedded" (the default, made by
`make_embedded_data`, needs no files), "cifar10" / "cifar10-subset" (the folder named by
INTRO2AI_CIFAR_DIR) or any existing folder path holding the files of `cifar-10-batches-py`.

The embedded data set (`make_embedded_data`) stands in for CIFAR-10 where the real files are
absent. It is built to look like CIFAR-10 to a network, so that the grader's training verdicts
agree on both: ten classes of 3x32x32 images (EMBEDDED_CLASSES: five shapes, four striped/checked
textures seen through a disc, pairs of blobs), each object at a random position, size and angle,
in a random colour nudged by its class, on a background of natural-image-like texture (amplitude
falling as 1/f^1.6), with integer values in 0..255. Compared with the real CIFAR-10 subset
(2,000 embedded images against the subset's first two batches; tests/image_stats.py): per-channel mean 126/123/114 (CIFAR-10
125/123/114), std 60/59/60 (CIFAR-10 63/62/67), neighbour correlation 0.92/0.80/0.63/0.33 at
1/2/4/8 pixels (subset 0.91/0.77/0.59/0.37), power-spectrum slope -3.1 (subset -3.2). It goes
through the same mean subtraction as CIFAR-10 in `get_CIFAR10_data`. Objects are small
(radius 4-12 pixels), low in contrast (8-56 grey levels) and their orientation classes overlap at
the edges (angle jitter +-0.4 rad), so the seed's network lands where CIFAR-10 puts it after one
epoch on 49,000 images: training accuracy and loss in the band of benchmarks/calibration.md
(CIFAR-10: about 0.40-0.55). Images are
made 1000 at a time from seeded streams (deterministic, a smaller set is a prefix of a larger
one) in float32, without a per-image FFT.
"""

from __future__ import annotations

import os
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "load_CIFAR_batch",
    "load_CIFAR10",
    "get_CIFAR10_data",
    "describe_source",
    "make_embedded_data",
    "sample_photos",
    "EMBEDDED_CLASSES",
]

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
FULL_TRAIN_SIZE = 50_000
DEFAULT_CIFAR_DIR = Path(__file__).resolve().parent / "datasets" / "cifar-10-batches-py"
SOURCE_NAMES = ("embedded", "cifar10", "cifar10-subset")


# --------------------------------------------------------------------------- CIFAR-10 files


def _read_batch(filename: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One official batch as stored: uint8 (N, 3, 32, 32) (a view, no copy) and int64 labels."""
    try:
        with open(filename, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch["labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError) as exc:
        raise ValueError(f"{filename} is not a CIFAR-10 python batch ({exc!r})") from exc
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (data.shape[0],):
        raise ValueError(
            f"{filename}: expected 'data' of shape (N, 3072) and N labels, "
            f"got {data.shape} and {labels.shape}"
        )
    return data.reshape(-1, 3, 32, 32), labels


def load_CIFAR_batch(filename: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Load one batch file: X uint8 (N, 32, 32, 3) (cs231n's layout), y int64 (N,).

    N is read from the file (the subset's batches hold 1102 or 1017 rows, not 10,000).
    Cast X with `.astype(np.float32)` before arithmetic.
    """
    X, y = _read_batch(filename)
    return X.transpose(0, 2, 3, 1), y


def _check_folder(root: Path) -> None:
    """Raise one clear error naming the folder and every file it lacks."""
    missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if not (root / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 folder {root} lacks {', '.join(missing)}: expected the python-pickle "
            f"files data_batch_1 ... data_batch_5 and test_batch of cifar-10-batches-py. "
            f"Point INTRO2AI_CIFAR_DIR at that folder, or set INTRO2AI_DATA=embedded."
        )


def _load_parts(root: Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """A folder's training batches (list of uint8 NCHW arrays), their labels, the test batch."""
    _check_folder(root)
    train = [_read_batch(root / n) for n in TRAIN_BATCHES]
    X_test, y_test = _read_batch(root / TEST_BATCH)
    return [X for X, _ in train], np.concatenate([y for _, y in train]), X_test, y_test


def load_CIFAR10(root: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load a cifar-10-batches-py folder: X_train, y_train, X_test, y_test.

    X are uint8 (N, 32, 32, 3) (cs231n's layout; a transposed view of the files' NCHW rows),
    y are int64. Raises FileNotFoundError naming the folder when batch files are missing.
    """
    parts, y_train, X_test, y_test = _load_parts(Path(root))
    X_train = np.concatenate(parts)
    return X_train.transpose(0, 2, 3, 1), y_train, X_test.transpose(0, 2, 3, 1), y_test


def _count_train_rows(root: Path) -> int:
    """Number of training images in a folder (read from the files, never assumed)."""
    _check_folder(root)
    return sum(_read_batch(root / n)[1].shape[0] for n in TRAIN_BATCHES)


# --------------------------------------------------------------------------- source choice


def _resolve_source(source: str | os.PathLike | None) -> Path | None:
    """The CIFAR-10 folder a source names, or None for the embedded data set."""
    if source is None:
        source = os.environ.get("INTRO2AI_DATA") or "embedded"
    text = os.fspath(source)
    if text == "embedded":
        return None
    if text in ("cifar10", "cifar10-subset"):
        return Path(os.environ.get("INTRO2AI_CIFAR_DIR") or DEFAULT_CIFAR_DIR)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if isinstance(source, os.PathLike) or os.sep in text or "/" in text or text[:1] in ".~":
        raise FileNotFoundError(f"data folder {text} does not exist (expected cifar-10-batches-py)")
    raise ValueError(
        f"unknown data source {text!r}: use one of {', '.join(SOURCE_NAMES)} "
        f"or the path of a cifar-10-batches-py folder"
    )


def describe_source(source: str | os.PathLike | None = None) -> str:
    """Short label of what `get_CIFAR10_data(source=source)` would load.

    "embedded", "cifar10-subset" (a folder with fewer than 50,000 training images) or "cifar10".
    The grader records it and picks the training-accuracy target by it.
    """
    root = _resolve_source(source)
    if root is None:
        return "embedded"
    return "cifar10" if _count_train_rows(root) >= FULL_TRAIN_SIZE else "cifar10-subset"


def _max_train(num_training: int) -> int:
    """Apply the optional cap INTRO2AI_MAX_TRAIN (quick notebook runs in tests)."""
    cap = os.environ.get("INTRO2AI_MAX_TRAIN")
    if not cap:
        return num_training
    try:
        value = int(cap)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"INTRO2AI_MAX_TRAIN must be a positive integer, got {cap!r}")
    return min(num_training, value)


# --------------------------------------------------------------------------- get_CIFAR10_data


def _split_sizes(root: Path, available: int, test_available: int, num_training: int,
                 num_validation: int, num_test: int) -> tuple[int, int]:
    """Training and test counts that fit the folder; one printed line when they shrink."""
    if num_validation > available:
        raise ValueError(
            f"CIFAR-10 folder {root} holds {available} training images, "
            f"fewer than the {num_validation} asked for validation"
        )
    n_train = min(num_training, available - num_validation)
    n_test = min(num_test, test_available)
    if (n_train, n_test) != (num_training, num_test):
        print(
            f"CIFAR-10 folder {root} holds {available} training and {test_available} test "
            f"images: using {n_train} for training, the next {num_validation} for validation "
            f"and {n_test} for test (asked for {num_training}/{num_validation}/{num_test})."
        )
    return n_train, n_test


def _float_rows(parts: list[np.ndarray], start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) of the parts laid end to end, as float32, without concatenating them."""
    out = np.empty((stop - start, *parts[0].shape[1:]), np.float32)
    offset = 0
    for part in parts:
        lo, hi = max(start, offset), min(stop, offset + len(part))
        if lo < hi:
            out[lo - start : hi - start] = part[lo - offset : hi - offset]
        offset += len(part)
    return out


def _cifar_splits(root: Path, num_training: int, num_validation: int,
                  num_test: int) -> dict[str, np.ndarray]:
    """cs231n's split of a folder: validation rows follow the training rows, as float32 NCHW."""
    parts, y_all, X_test, y_test = _load_parts(root)
    n_train, n_test = _split_sizes(root, len(y_all), len(y_test), num_training,
                                   num_validation, num_test)
    n_seen = n_train + num_validation
    return {
        "X_train": _float_rows(parts, 0, n_train),
        "y_train": y_all[:n_train].copy(),
        "X_val": _float_rows(parts, n_train, n_seen),
        "y_val": y_all[n_train:n_seen].copy(),
        "X_test": X_test[:n_test].astype(np.float32),
        "y_test": y_test[:n_test].copy(),
    }


def _subtract_train_mean(data: dict[str, np.ndarray]) -> None:
    """Subtract the mean training image from every split, in place (no float64 image copies)."""
    mean_image = data["X_train"].mean(axis=0, dtype=np.float64).astype(np.float32)
    for key in ("X_train", "X_val", "X_test"):
        data[key] -= mean_image


def get_CIFAR10_data(
    num_training: int = 49000,
    num_validation: int = 1000,
    num_test: int = 1000,
    subtract_mean: bool = True,
    source: str | os.PathLike | None = None,
) -> dict[str, np.ndarray]:
    """Load the data the notebooks train on, preprocessed as in cs231n.

    Returns X_train, y_train, X_val, y_val, X_test, y_test: X float32 (N, 3, 32, 32) (minus the
    mean training image when `subtract_mean`), y int64. `source`: see the module docstring;
    None reads INTRO2AI_DATA (default "embedded"). A CIFAR-10 folder with fewer images than
    asked (the 5,170-image subset) gives validation rows from the end of the training batches
    and fewer training rows. INTRO2AI_MAX_TRAIN, when set, caps num_training.
    """
    num_training = _max_train(num_training)
    root = _resolve_source(source)
    if root is None:
        data = make_embedded_data(num_training, num_validation, num_test)
    else:
        data = _cifar_splits(root, num_training, num_validation, num_test)
    if subtract_mean:
        _subtract_train_mean(data)
    return data


# --------------------------------------------------------------------------- embedded data set

EMBEDDED_CLASSES = (
    "disc", "ring", "square", "cross", "triangle",
    "horizontal stripes", "vertical stripes", "diagonal stripes", "checker", "blob pair",
)
_CHUNK = 1000  # images per random stream; fixed so that a smaller set is a prefix of a larger one
_STREAMS = {"train": 0, "val": 1, "test": 2}
_PIX_Y, _PIX_X = np.mgrid[0:32, 0:32].astype(np.float32) + np.float32(0.5)
_TRIANGLE_NORMALS = [  # outward edge normals of an equilateral triangle
    (np.float32(np.cos(a)), np.float32(np.sin(a))) for a in np.pi * np.array([0.5, 7 / 6, 11 / 6])
]
Params = dict[str, np.ndarray]  # per-image parameters of one class, each shaped (n, 1, 1)


def _fill(sdf: np.ndarray) -> np.ndarray:
    """Antialiased coverage of a shape from its signed distance in pixels (negative inside)."""
    return np.clip(0.5 - sdf, 0.0, 1.0, out=sdf)


def _stripes(t: np.ndarray, period: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Soft square wave across coordinate t: about one pixel of blur at each edge."""
    wave = np.sin((2 * np.pi) * t / period + phase) * (period / (2 * np.pi))
    return np.clip(0.5 + wave, 0.0, 1.0, out=wave)


def _window(u: np.ndarray, v: np.ndarray, p: Params) -> np.ndarray:
    """The disc a texture is shown through, a little larger than the shapes."""
    return _fill(np.hypot(u, v) - 1.3 * p["scale"])


def _disc(u: np.ndarray, v: np.ndarray, p: Params) -> np.ndarray:
    return _fill(np.hypot(u, v) - p["scale"])


def _ring(u: np.ndarray, v: np.ndarray, p: Params) -> np.ndarray:
    width = np.maximum(1.5, 0.3 * p["scale"])
    return _fill(np.abs(np.hypot(u, v) - (p["scale"] - width / 2)) - width / 2)


def _square(u: np.ndarray, v: np.ndarray, p: Params) -> np.ndarray:
    return _fill(np.maximum(np.abs(u), np.abs(v)) - 0.85 * p["scale"])


def _cross(u: np.ndarray, v: np.ndarray, p: Params) -> np.ndarray:
    s, half = p["scale"], 0.3 * p["scale"]
    au, av = np.abs(u), np.abs(v)
    return _fill(np.minimum(np.maximum(au - s, av - half), np.maximum(av - s, au - half)))


def _triangle(u: np.ndarray, v: np.ndarray, p: Params) -> np.ndarray:
    reach = np.maximum.reduce([u * nx + v * ny for nx, ny in _TRIANGLE_NORMALS])
    return _fill(reach - 0.6 * p["scale"])


def _oriented_stripes(u: np.ndarray, v: np.ndarray, p: Params) -> np.ndarray:
    return _stripes(v, p["period"], p["phase"]) * _window(u, v, p)


def _checker(u: np.ndarray, v: np.ndarray, p: Params) -> np.ndarray:
    a, b = _stripes(u, p["period"], p["phase"]), _stripes(v, p["period"], p["phase2"])
    return (a + b - 2 * a * b) * _window(u, v, p)


def _blob_pair(u: np.ndarray, v: np.ndarray, p: Params) -> np.ndarray:
    d, r = 0.85 * p["scale"], 0.45 * p["scale"]
    return _fill(np.minimum(np.hypot(u - d, v), np.hypot(u + d, v)) - r)


# Per class: coverage function and orientation (None: any angle; else base angle(s) + jitter).
_CLASS_SPECS = (
    (_disc, None), (_ring, None), (_square, None), (_cross, None), (_triangle, None),
    (_oriented_stripes, (0.0,)), (_oriented_stripes, (np.pi / 2,)),
    (_oriented_stripes, (np.pi / 4, -np.pi / 4)), (_checker, (0.0,)), (_blob_pair, None),
)


# Colour statistics of CIFAR-10's 50,000 training images (0..255): what the embedded images match.
CIFAR_MEAN = np.array([125.3, 123.0, 113.9], np.float32)
_PALETTE = np.random.default_rng(12345).standard_normal((2, len(EMBEDDED_CLASSES), 3)).astype(np.float32)
_PALETTE -= _PALETTE.mean(axis=1, keepdims=True)  # class colours average to the grand mean
_BANK_SIZE, _BANK_SIDE = 256, 64
_SPECTRUM_EXPONENT = 1.6  # amplitude ~ 1/f^1.6: neighbour correlations as in CIFAR (see _texture_bank)


@lru_cache(maxsize=1)
def _texture_bank() -> np.ndarray:
    """Every 32x32 window of 256 periodic 64x64 noise fields with a photograph's spectrum.

    A (256, 65, 65, 32, 32) view (window rows and columns 0..63 are used). Amplitude falls as
    1/f^1.6, which with the objects on top gives CIFAR's neighbour correlations (0.91, 0.77,
    0.59, 0.37 at 1, 2, 4, 8 pixels) within 0.04. Made once with a fixed seed; an image takes a
    random window of a random field, so no FFT runs per image.
    """
    rng = np.random.default_rng(20261201)
    fy, fx = np.fft.fftfreq(_BANK_SIDE)[:, None], np.fft.rfftfreq(_BANK_SIDE)[None, :]
    gain = np.maximum(np.hypot(fy, fx), 1 / _BANK_SIDE) ** -_SPECTRUM_EXPONENT
    gain[0, 0] = 0.0
    white = rng.standard_normal((_BANK_SIZE, _BANK_SIDE, _BANK_SIDE))
    fields = np.fft.irfft2(np.fft.rfft2(white) * gain, s=(_BANK_SIDE, _BANK_SIDE))
    fields /= fields.std(axis=(1, 2), keepdims=True)
    tiled = np.pad(fields, ((0, 0), (0, 32), (0, 32)), mode="wrap").astype(np.float32)
    return sliding_window_view(tiled, (32, 32), axis=(1, 2))


def _textures(rng: np.random.Generator, n: int, amplitude: np.ndarray | float) -> np.ndarray:
    """n zero-mean texture windows (n, 32, 32) float32, each scaled by its amplitude (and a sign)."""
    bank = _texture_bank()
    window = bank[rng.integers(0, _BANK_SIZE, n), rng.integers(0, _BANK_SIDE, n), rng.integers(0, _BANK_SIDE, n)]
    window -= window.mean(axis=(1, 2), keepdims=True)
    scale = np.asarray(amplitude, np.float32) * rng.choice(np.array([-1, 1], np.float32), n)
    window *= scale.reshape(-1, 1, 1)
    return window


def _chunk_params(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Random class, placement, size, angle and stripe texture of n objects (classes balanced)."""
    return {
        "label": rng.permutation(np.arange(n) % len(EMBEDDED_CLASSES)),
        "cx": rng.uniform(8, 24, n), "cy": rng.uniform(8, 24, n),
        "scale": rng.uniform(4, 12, n), "angle": rng.uniform(0, 2 * np.pi, n),
        "jitter": rng.uniform(-0.4, 0.4, n), "pick": rng.integers(0, 2, n),
        "period": rng.uniform(4, 7, n),
        "phase": rng.uniform(0, 2 * np.pi, n), "phase2": rng.uniform(0, 2 * np.pi, n),
    }  # fmt: skip


def _coverage(p: dict[str, np.ndarray]) -> np.ndarray:
    """Foreground coverage in [0, 1] of every image, (n, 32, 32) float32, class by class."""
    cover = np.empty((len(p["label"]), 32, 32), np.float32)
    for label, (shape, angles) in enumerate(_CLASS_SPECS):
        idx = np.flatnonzero(p["label"] == label)
        q = {k: v[idx].astype(np.float32).reshape(-1, 1, 1) for k, v in p.items() if v.ndim == 1}
        if angles is not None:
            base = np.asarray(angles, np.float32)[p["pick"][idx] % len(angles)]
            q["angle"] = base.reshape(-1, 1, 1) + q["jitter"]
        dx, dy = _PIX_X - q["cx"], _PIX_Y - q["cy"]
        cos, sin = np.cos(q["angle"]), np.sin(q["angle"])
        cover[idx] = shape(dx * cos + dy * sin, dy * cos - dx * sin, q)
    return cover


def _colours(rng: np.random.Generator, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Background and object colours (n, 3): a random brightness and tint, nudged by the class.

    The class nudges (12 and 18 grey levels along a fixed random colour per class) give the
    colour signal a linear model finds in CIFAR (sky behind planes, green behind frogs) without
    letting colour alone decide the class; the object is 8-56 levels lighter or darker.
    """
    n = len(labels)
    background = CIFAR_MEAN + rng.normal(0, 44, (n, 1)) + rng.normal(0, 14, (n, 3)) + 12 * _PALETTE[0, labels]
    contrast = rng.choice(np.array([-1.0, 1.0]), (n, 1)) * rng.uniform(8, 56, (n, 1))
    foreground = background + contrast + rng.normal(0, 14, (n, 3)) + 18 * _PALETTE[1, labels]
    return background.astype(np.float32), foreground.astype(np.float32)


def _embedded_chunk(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n images (n, 3, 32, 32) float32 with integer values in 0..255, and their labels.

    A textured background (grey-level texture 16-72 levels strong, plus 10 levels per colour
    channel) and a textured object (7-33 levels), blended by the object's antialiased coverage,
    plus pixel noise (std 2.9 levels).
    """
    p = _chunk_params(rng, n)
    background, foreground = _colours(rng, p["label"])
    cover = _coverage(p)[:, None]
    back = _textures(rng, n, 55 * rng.uniform(0.3, 1.3, n))[:, None]
    back = back + _textures(rng, 3 * n, 10.0).reshape(n, 3, 32, 32)
    back += background[:, :, None, None]
    front = _textures(rng, n, 25 * rng.uniform(0.3, 1.3, n))[:, None] + foreground[:, :, None, None]
    front -= back
    front *= cover
    X = back
    X += front
    noise = rng.random(X.shape, dtype=np.float32)  # uniform: 6x faster than normal draws here
    noise -= 0.5
    noise *= 10.0  # std 2.9
    X += noise
    np.clip(X, 0, 255, out=X)
    return np.rint(X, out=X), p["label"].astype(np.int64)


def _embedded_split(n: int, seed: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """n images of one split; chunk k always comes from the random stream (seed, stream, k)."""
    X, y = np.empty((n, 3, 32, 32), np.float32), np.empty(n, np.int64)
    for k, start in enumerate(range(0, n, _CHUNK)):
        stop = min(start + _CHUNK, n)
        Xc, yc = _embedded_chunk(np.random.default_rng([seed, stream, k]), _CHUNK)
        X[start:stop], y[start:stop] = Xc[: stop - start], yc[: stop - start]
    return X, y


def make_embedded_data(num_train: int = 49000, num_val: int = 1000, num_test: int = 1000,
                       seed: int = 0) -> dict[str, np.ndarray]:
    """The embedded data set (see EMBEDDED_CLASSES): X float32 (N, 3, 32, 32) in 0..255, y int64.

    Train, validation and test come from distinct random streams of `seed`; a smaller request
    returns a prefix of a larger one.
    """
    data = {}
    for split, n in (("train", num_train), ("val", num_val), ("test", num_test)):
        data[f"X_{split}"], data[f"y_{split}"] = _embedded_split(n, seed, _STREAMS[split])
    return data


# --------------------------------------------------------------------------- sample photos


def sample_photos() -> tuple[np.ndarray, np.ndarray]:
    """Two uint8 RGB photos for the image-processing cell, from matplotlib's own sample data.

    Returns (portrait of Grace Hopper cropped to a 512x512 square, 128x128 present icon with its
    transparency composited on white). Nothing is downloaded.
    """
    from matplotlib import cbook
    from PIL import Image

    def load(name: str) -> np.ndarray:
        with Image.open(cbook.get_sample_data(name, asfileobj=False)) as img:
            return np.asarray(img.convert("RGBA"), dtype=np.float32)

    hopper = load("grace_hopper.jpg")[..., :3]
    d = hopper.shape[0] - hopper.shape[1]
    hopper = hopper[d // 2 : d // 2 + hopper.shape[1]]
    icon = load("Minduka_Present_Blue_Pack.png")
    alpha = icon[..., 3:] / 255.0
    icon = icon[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return np.rint(hopper).astype(np.uint8), np.rint(icon).astype(np.uint8)

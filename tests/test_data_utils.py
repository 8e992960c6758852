"""intro2ai.data_utils: the CIFAR-10 pickle loader, source choice, the embedded data set, photos."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from image_stats import ImageStats, image_stats
from intro2ai import data_utils
from intro2ai.data_utils import (
    describe_source,
    get_CIFAR10_data,
    load_CIFAR10,
    load_CIFAR_batch,
    make_embedded_data,
    sample_photos,
)

TINY_ROWS = {"data_batch_1": 3, "data_batch_2": 5, "data_batch_3": 7, "data_batch_4": 2,
             "data_batch_5": 4, "test_batch": 5}
TINY_TRAIN = 21


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    """Each test states its own data source (INTRO2AI_CIFAR_DIR stays: cifar_dir reads it)."""
    for name in ("INTRO2AI_DATA", "INTRO2AI_MAX_TRAIN"):
        monkeypatch.delenv(name, raising=False)


def write_batch(path: Path, rows: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """One batch in the official layout (dict of data uint8 (N, 3072), labels list, batch_label)."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (rows, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, rows)]
    batch = {"batch_label": f"batch {seed}", "labels": labels, "data": data}
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return data, labels


@pytest.fixture
def tiny_cifar(tmp_path) -> tuple[Path, dict[str, tuple[np.ndarray, list[int]]]]:
    """A cifar-10-batches-py folder with odd, unequal row counts (21 train, 5 test images)."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    written = {name: write_batch(folder / name, rows, seed)
               for seed, (name, rows) in enumerate(TINY_ROWS.items())}
    return folder, written


def tiny_train(written) -> tuple[np.ndarray, np.ndarray]:
    """The tiny folder's training rows as uint8 NCHW, in batch order."""
    names = [f"data_batch_{i}" for i in range(1, 6)]
    X = np.concatenate([written[n][0] for n in names]).reshape(-1, 3, 32, 32)
    return X, np.concatenate([written[n][1] for n in names])


# --------------------------------------------------------------------------- loader


def test_load_batch_reads_row_count_and_layout(tmp_path):
    data, labels = write_batch(tmp_path / "data_batch_1", rows=7, seed=1)
    X, y = load_CIFAR_batch(tmp_path / "data_batch_1")
    assert X.shape == (7, 32, 32, 3) and X.dtype == np.uint8
    assert y.dtype == np.int64 and y.tolist() == labels
    # channel-major rows: (image i, row h, column w, channel c) is data[i, c*1024 + h*32 + w]
    assert X[4, 5, 6, 2] == data[4, 2 * 1024 + 5 * 32 + 6]
    assert X[6, 31, 0, 0] == data[6, 31 * 32]


def test_load_cifar10_concatenates_batches_in_order(tiny_cifar):
    folder, written = tiny_cifar
    X_train, y_train, X_test, y_test = load_CIFAR10(str(folder))
    X_expected, y_expected = tiny_train(written)
    assert X_train.shape == (TINY_TRAIN, 32, 32, 3) and X_train.dtype == np.uint8
    np.testing.assert_array_equal(X_train, X_expected.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_train, y_expected)
    assert X_test.shape == (5, 32, 32, 3) and y_test.tolist() == written["test_batch"][1]


def test_missing_files_name_the_folder_and_the_files(tiny_cifar):
    folder, _ = tiny_cifar
    (folder / "data_batch_3").unlink()
    (folder / "test_batch").unlink()
    with pytest.raises(FileNotFoundError) as err:
        load_CIFAR10(folder)
    message = str(err.value)
    assert str(folder) in message and "data_batch_3" in message and "test_batch" in message
    assert "INTRO2AI_CIFAR_DIR" in message


def test_a_file_that_is_not_a_batch_is_named(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"labels": [1, 2]}))
    with pytest.raises(ValueError, match="data_batch_1"):
        load_CIFAR_batch(path)


# --------------------------------------------------------------------------- get_CIFAR10_data


def test_small_folder_gives_validation_from_the_end_and_says_so(tiny_cifar, capsys):
    folder, written = tiny_cifar
    data = get_CIFAR10_data(num_validation=5, num_test=3, source=str(folder))
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "21 training" in printed[0] and "16 for training" in printed[0]
    X_all, y_all = tiny_train(written)
    X_all = X_all.astype(np.float32)
    mean_image = X_all[:16].mean(axis=0)
    np.testing.assert_allclose(data["X_train"], X_all[:16] - mean_image, atol=1e-3)
    np.testing.assert_allclose(data["X_val"], X_all[16:] - mean_image, atol=1e-3)
    np.testing.assert_array_equal(data["y_val"], y_all[16:])
    assert data["X_test"].shape == (3, 3, 32, 32)
    for key, value in data.items():
        assert value.dtype == (np.float32 if key.startswith("X") else np.int64), key


def test_enough_images_gives_the_cs231n_split_silently(tiny_cifar, capsys, monkeypatch):
    folder, written = tiny_cifar
    monkeypatch.setenv("INTRO2AI_CIFAR_DIR", str(folder))
    data = get_CIFAR10_data(10, 4, 5, subtract_mean=False, source="cifar10")
    assert capsys.readouterr().out == ""
    X_all, y_all = tiny_train(written)
    np.testing.assert_array_equal(data["X_train"], X_all[:10])
    np.testing.assert_array_equal(data["X_val"], X_all[10:14])
    np.testing.assert_array_equal(data["y_val"], y_all[10:14])


def test_environment_chooses_the_source(tiny_cifar, monkeypatch):
    folder, _ = tiny_cifar
    monkeypatch.setenv("INTRO2AI_DATA", str(folder))
    assert get_CIFAR10_data(10, 4, 5)["X_train"].shape == (10, 3, 32, 32)
    assert describe_source() == "cifar10-subset"
    monkeypatch.setattr(data_utils, "FULL_TRAIN_SIZE", TINY_TRAIN)
    assert describe_source() == "cifar10"
    monkeypatch.setenv("INTRO2AI_DATA", "embedded")
    assert describe_source() == "embedded"
    monkeypatch.delenv("INTRO2AI_DATA")
    assert describe_source() == "embedded"


def test_bad_sources_are_refused(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown data source 'cifar100'"):
        get_CIFAR10_data(10, 2, 2, source="cifar100")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        describe_source(str(tmp_path / "nowhere"))
    monkeypatch.setenv("INTRO2AI_CIFAR_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        describe_source("cifar10")


def test_embedded_source_shapes_and_mean_subtraction():
    data = get_CIFAR10_data(30, 20, 10, source="embedded")
    shapes = {k: v.shape for k, v in data.items()}
    assert shapes == {"X_train": (30, 3, 32, 32), "y_train": (30,), "X_val": (20, 3, 32, 32),
                      "y_val": (20,), "X_test": (10, 3, 32, 32), "y_test": (10,)}
    assert all(v.dtype == (np.float32 if k[0] == "X" else np.int64) for k, v in data.items())
    assert np.abs(data["X_train"].mean(axis=0)).max() < 1e-3
    raw = make_embedded_data(30, 20, 10)
    np.testing.assert_allclose(raw["X_val"] - raw["X_train"].mean(axis=0), data["X_val"], atol=1e-3)


def test_max_train_caps_the_training_set(monkeypatch):
    full = get_CIFAR10_data(40, 5, 5, subtract_mean=False, source="embedded")
    monkeypatch.setenv("INTRO2AI_MAX_TRAIN", "7")
    capped = get_CIFAR10_data(40, 5, 5, subtract_mean=False, source="embedded")
    assert capped["X_train"].shape == (7, 3, 32, 32)
    np.testing.assert_array_equal(capped["X_train"], full["X_train"][:7])
    np.testing.assert_array_equal(capped["X_val"], full["X_val"])
    monkeypatch.setenv("INTRO2AI_MAX_TRAIN", "many")
    with pytest.raises(ValueError, match="INTRO2AI_MAX_TRAIN"):
        get_CIFAR10_data(40, 5, 5, source="embedded")


# --------------------------------------------------------------------------- embedded data set


def test_embedded_is_deterministic_and_prefix_stable():
    a = make_embedded_data(1200, 30, 30, seed=5)
    b = make_embedded_data(1200, 30, 30, seed=5)
    small = make_embedded_data(50, 10, 10, seed=5)
    other = make_embedded_data(50, 10, 10, seed=6)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_array_equal(small[key], a[key][: len(small[key])])
    assert not np.array_equal(small["X_train"], other["X_train"])
    X = a["X_train"]
    assert X.dtype == np.float32 and X.min() >= 0 and X.max() <= 255
    np.testing.assert_array_equal(X, np.rint(X))
    assert np.bincount(a["y_train"], minlength=10).min() >= 100


def test_embedded_splits_come_from_distinct_streams():
    data = make_embedded_data(20, 20, 20)
    X_train, X_val, X_test = (data[k].reshape(20, -1) for k in ("X_train", "X_val", "X_test"))
    for A, B in ((X_train, X_val), (X_train, X_test), (X_val, X_test)):
        assert not (A[:, None] == B[None]).all(-1).any()


@pytest.fixture(scope="module")
def embedded_stats() -> ImageStats:
    return image_stats(make_embedded_data(2000, 0, 0, seed=3)["X_train"])


def test_embedded_images_have_cifar_colour_statistics(embedded_stats):
    """CIFAR-10's 50,000 training images: per-channel mean 125.3/123.0/113.9, std 63.0/62.1/66.7."""
    np.testing.assert_allclose(embedded_stats.channel_mean, data_utils.CIFAR_MEAN, atol=3)
    assert np.all((embedded_stats.channel_std > 55) & (embedded_stats.channel_std < 70)), embedded_stats.channel_std


def test_embedded_images_have_photographic_spatial_statistics(embedded_stats):
    """Neighbour correlation falls with distance as in photographs, not like noise or flat shapes."""
    assert 0.85 < embedded_stats.correlation[0] < 0.97
    assert np.all(np.diff(embedded_stats.correlation) < 0) and embedded_stats.correlation[-1] > 0.2
    assert -3.8 < embedded_stats.spectrum_slope < -2.5


@pytest.mark.cifar
def test_embedded_statistics_match_the_real_subset(cifar_dir, embedded_stats):
    X_real = np.concatenate([load_CIFAR_batch(cifar_dir / f"data_batch_{i}")[0] for i in (1, 2)])
    real = image_stats(X_real.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(embedded_stats.channel_mean, real.channel_mean, atol=6)
    np.testing.assert_allclose(embedded_stats.channel_std / real.channel_std, 1.0, atol=0.15)
    assert 0.5 * np.abs(embedded_stats.histogram - real.histogram).sum() < 0.1  # total variation
    np.testing.assert_allclose(embedded_stats.correlation, real.correlation, atol=0.06)
    assert abs(embedded_stats.spectrum_slope - real.spectrum_slope) < 0.4


@pytest.mark.cifar
def test_first_layer_and_score_magnitudes_match_the_real_subset(cifar_dir):
    """The reference net at the seed's initialisation sees inputs of the same size on both sets."""
    from intro2ai.classifiers.cnn import ThreeLayerConvNet

    magnitudes = []
    for source in ("embedded", str(cifar_dir)):
        X = get_CIFAR10_data(400, 1000, 0, source=source)["X_train"]
        np.random.seed(231)
        model = ThreeLayerConvNet(weight_scale=1e-3, hidden_dim=500, reg=1e-3)
        conv = np.tensordot(X[:, :, :7, :7], model.params["W1"], axes=([1, 2, 3], [1, 2, 3]))
        magnitudes.append((conv.std(), model.loss(X).std()))
    (conv_e, score_e), (conv_r, score_r) = magnitudes
    assert 0.75 < conv_e / conv_r < 1.33 and 0.6 < score_e / score_r < 1.66, magnitudes


# --------------------------------------------------------------------------- real data, photos


@pytest.mark.cifar
def test_real_cifar_folder(cifar_dir):
    rows = [load_CIFAR_batch(cifar_dir / f"data_batch_{i}")[1].shape[0] for i in range(1, 6)]
    X_train, y_train, X_test, y_test = load_CIFAR10(cifar_dir)
    assert X_train.shape == (sum(rows), 32, 32, 3) and X_train.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10)) and len(y_test) == len(X_test)
    label = describe_source(str(cifar_dir))
    assert label == ("cifar10" if sum(rows) >= 50_000 else "cifar10-subset")
    data = get_CIFAR10_data(source=str(cifar_dir))
    assert data["X_train"].shape == (min(49_000, sum(rows) - 1000), 3, 32, 32)
    assert data["X_val"].shape == (1000, 3, 32, 32) and data["X_train"].dtype == np.float32
    np.testing.assert_array_equal(data["y_val"], y_train[len(data["y_train"]):][:1000])


def test_sample_photos_are_rgb_uint8():
    a, b = sample_photos()
    assert a.shape == (512, 512, 3) and b.shape == (128, 128, 3)
    assert a.dtype == b.dtype == np.uint8
    assert a.std() > 20 and b.std() > 20

"""Data sets: embedded digits, CIFAR-10/100 python-pickle batches from a local folder."""
import pickle

import numpy as np
import pytest

from archsim.accuracy.data import load_cifar, load_dataset, load_digits


def test_digits_split():
    d = load_digits()
    assert d.x_train.shape[1:] == (1, 8, 8) and len(d.x_train) + len(d.x_test) == 1797
    assert abs(len(d.x_test) / 1797 - 0.25) < 0.01
    assert set(d.y_test.tolist()) == set(range(10))
    assert abs(float(d.x_train.mean())) < 1e-4  # standardised on the training split
    again = load_digits()
    assert (again.y_train == d.y_train).all()


def _cifar10(tmp_path, n_per_batch=4, batches=2, corrupt=False):
    rng = np.random.default_rng(0)
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for i in range(1, batches + 1):
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = list(rng.integers(0, 10, n_per_batch))
        if corrupt:
            labels[0] = 10
        with open(root / f"data_batch_{i}", "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": b"x"}, f)
    with open(root / "test_batch", "wb") as f:
        pickle.dump({b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8), b"labels": [0, 1, 9]}, f)
    with open(root / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)], b"num_vis": 3072}, f)
    return root


def test_cifar10_pickles(tmp_path):
    root = _cifar10(tmp_path)
    d = load_cifar(tmp_path, 10)  # finds the cifar-10-batches-py subfolder
    assert d.x_train.shape == (8, 3, 32, 32) and d.x_test.shape == (3, 3, 32, 32)
    assert d.y_test.tolist() == [0, 1, 9] and d.num_classes == 10 and d.classes[9] == "c9"
    # the R plane is the first 1024 bytes of a row: undo the standardisation and compare
    with open(root / "test_batch", "rb") as f:
        raw = pickle.load(f, encoding="bytes")[b"data"]
    assert d.x_test[1, 0].flatten().argmax() == int(np.argmax(raw[1, :1024]))
    assert load_dataset("cifar10", root).x_train.shape == (8, 3, 32, 32)


def test_cifar100_pickles(tmp_path):
    rng = np.random.default_rng(1)
    for name, n in (("train", 5), ("test", 2)):
        with open(tmp_path / name, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         b"fine_labels": list(rng.integers(0, 100, n)), b"coarse_labels": [0] * n}, f)
    with open(tmp_path / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": [b"apple"] * 100}, f)
    d = load_dataset("cifar100", tmp_path)
    assert d.num_classes == 100 and d.x_train.shape == (5, 3, 32, 32) and len(d.y_test) == 2


def test_cifar_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no CIFAR-10"):
        load_cifar(tmp_path, 10)
    with pytest.raises(ValueError, match="needs --data-dir"):
        load_dataset("cifar10")
    _cifar10(tmp_path, corrupt=True)
    with pytest.raises(ValueError, match="labels outside"):
        load_cifar(tmp_path, 10)


@pytest.mark.parametrize("name,content,msg", [
    ("data_batch_1", b"garbage", "not a python pickle of a CIFAR file"),
    ("test_batch", b"", "not a python pickle of a CIFAR file"),
    ("batches.meta", b"\x80\x04garbage", "not a python pickle of a CIFAR meta file"),
    ("data_batch_2", pickle.dumps({b"data": "text", b"labels": [0]}), "b'data' is not an array of bytes"),
    ("data_batch_2", pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": "x"}),
     "b'labels' is not a list of integers"),
    ("batches.meta", pickle.dumps({b"label_names": 7}), "is not a list of class names"),
])
def test_cifar_unreadable_files_name_the_file(tmp_path, name, content, msg):
    """A batch or meta file that is not a CIFAR pickle (truncated, another format, wrong contents) is a ValueError
    naming the file, which the CLI prints as one line."""
    root = _cifar10(tmp_path)
    (root / name).write_bytes(content)
    with pytest.raises(ValueError, match=msg) as err:
        load_cifar(root, 10)
    assert name in str(err.value)


def test_resize():
    d = load_digits().resized(32)
    assert d.x_train.shape[1:] == (1, 32, 32)


def test_resize_too_large_names_the_limit():
    with pytest.raises(ValueError, match=r"image size 10000: .* GiB .*allowed: 1 to \d+"):
        load_digits().resized(10000)

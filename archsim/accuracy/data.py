"""Data sets for the accuracy harness. Nothing is downloaded at run time.

* ``digits`` (default): scikit-learn's embedded copy of the UCI optical-recognition handwritten digits test set
  (Alpaydin & Kaynak 1998; ``sklearn.datasets.load_digits``): 1797 grayscale 8x8 images, 10 classes, pixel values
  0..16. Split into train/test by a fixed, seeded stratified shuffle (archsim's choice: 25 % test).
* ``cifar10`` / ``cifar100``: the python-pickle batches of Krizhevsky's CIFAR distribution read from a local folder
  (``data_batch_1..5``, ``test_batch``, ``batches.meta``; CIFAR-100: ``train``, ``test``, ``meta`` with
  ``fine_labels``). Rows of 3072 bytes are R, G, B planes of 32x32.

Inputs are standardised per channel with the training split's mean and standard deviation.
"""
from __future__ import annotations

import pathlib
import pickle
from dataclasses import dataclass

import numpy as np
import torch

#: the most memory a resized copy of a data set may take (train and test images, float32): a guard against an
#: image size that cannot be meant (``--image-size 10000`` asked for 540 GB); 4 GiB holds CIFAR at 77 x 77
MAX_RESIZED_BYTES = 4 << 30

DATASETS = ("digits", "cifar10", "cifar100")


@dataclass
class Dataset:
    name: str
    x_train: torch.Tensor  # (N, C, H, W) float32, standardised
    y_train: torch.Tensor  # (N,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    classes: tuple[str, ...] = ()

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def input_size(self) -> int:
        return int(self.x_train.shape[2])

    def resized(self, size: int) -> "Dataset":
        """The data set with images resized (bilinear) to ``size`` x ``size``."""
        if size == self.input_size:
            return self
        if size < 1:
            raise ValueError(f"image size must be >= 1, got {size}")
        images = int(self.x_train.shape[0] + self.x_test.shape[0]) * self.in_channels
        need = images * size * size * 4  # float32
        if need > MAX_RESIZED_BYTES:
            largest = int((MAX_RESIZED_BYTES / (4 * images)) ** 0.5)
            raise ValueError(f"image size {size}: the resized {self.name} images would take {need / 2**30:.1f} GiB "
                             f"(limit {MAX_RESIZED_BYTES / 2**30:.0f} GiB); allowed: 1 to {largest}")

        def rs(x):
            return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)

        return Dataset(self.name, rs(self.x_train), self.y_train, rs(self.x_test), self.y_test, self.num_classes,
                       self.classes)

    def subset(self, train: int | None = None, test: int | None = None) -> "Dataset":
        """The first ``train`` / ``test`` samples (for quick runs)."""
        return Dataset(self.name, self.x_train[:train], self.y_train[:train], self.x_test[:test], self.y_test[:test],
                       self.num_classes, self.classes)


def _standardise(xtr: np.ndarray, xte: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    xtr = xtr.astype(np.float32)
    xte = xte.astype(np.float32)
    mean = xtr.mean(axis=(0, 2, 3), keepdims=True)
    std = xtr.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    return torch.from_numpy((xtr - mean) / std), torch.from_numpy((xte - mean) / std)


def load_digits(test_fraction: float = 0.25, split_seed: int = 0) -> Dataset:
    """scikit-learn's embedded 8x8 digits, split by a seeded stratified shuffle."""
    from sklearn.datasets import load_digits as _ld

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    d = _ld()
    x = d.images.reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(split_seed)
    test_idx = []
    for c in np.unique(y):  # stratified: the same fraction of every class
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test_idx.extend(idx[: int(round(len(idx) * test_fraction))])
    test_mask = np.zeros(len(y), bool)
    test_mask[test_idx] = True
    perm = rng.permutation(len(y))
    tr = perm[~test_mask[perm]]
    te = perm[test_mask[perm]]
    xtr, xte = _standardise(x[tr], x[te])
    return Dataset("digits", xtr, torch.from_numpy(y[tr]), xte, torch.from_numpy(y[te]), 10,
                   tuple(str(i) for i in range(10)))


def _load_pickle(path: pathlib.Path, what: str):
    """The object pickled in ``path``; a file that is not one (truncated, another format) raises ValueError naming
    it. (A pickle can run code: the CIFAR distribution is pickles, so read only folders you trust.)"""
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR {what} not found: {path}")
    with open(path, "rb") as f:
        try:
            return pickle.load(f, encoding="bytes")
        except Exception as err:  # a bad pickle raises any of a dozen types (UnpicklingError, EOFError, ...)
            raise ValueError(f"{path}: not a python pickle of a CIFAR {what} ({type(err).__name__}: {err})") from None


def _unpickle(path: pathlib.Path) -> dict:
    d = _load_pickle(path, "file")
    if not isinstance(d, dict) or b"data" not in d:
        raise ValueError(f"{path}: not a CIFAR python batch (no b'data' key)")
    return d


def _cifar_dir(data_dir: str | pathlib.Path, variant: int) -> pathlib.Path:
    root = pathlib.Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"data directory not found: {root}")
    marker = "batches.meta" if variant == 10 else "meta"
    for cand in (root, root / f"cifar-{variant}-batches-py", root / "cifar-100-python"):
        if (cand / marker).is_file():
            return cand
    raise FileNotFoundError(f"no CIFAR-{variant} python batches in {root} (looked for {marker} there and in "
                            f"cifar-{variant}-batches-py/ or cifar-100-python/)")


def _rows(d: dict, label_key: bytes, path) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.asarray(d[b"data"], dtype=np.uint8)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{path}: b'data' is not an array of bytes ({err})") from None
    if data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: expected rows of 3072 bytes, got shape {data.shape}")
    if label_key not in d:
        raise ValueError(f"{path}: no {label_key!r} key")
    try:
        labels = np.asarray(d[label_key], dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{path}: {label_key!r} is not a list of integers ({err})") from None
    if labels.ndim != 1:
        raise ValueError(f"{path}: {label_key!r} is not a list of integers (shape {labels.shape})")
    if len(labels) != len(data):
        raise ValueError(f"{path}: {len(data)} images but {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar(data_dir: str | pathlib.Path, variant: int = 10) -> Dataset:
    """CIFAR-10 or CIFAR-100 from the python-pickle batches in ``data_dir``."""
    if variant not in (10, 100):
        raise ValueError(f"CIFAR variant must be 10 or 100, got {variant}")
    root = _cifar_dir(data_dir, variant)
    if variant == 10:
        parts = sorted(root.glob("data_batch_*"))
        if not parts:
            raise FileNotFoundError(f"no data_batch_* files in {root}")
        tr = [_rows(_unpickle(p), b"labels", p) for p in parts]
        xtr = np.concatenate([a for a, _ in tr])
        ytr = np.concatenate([b for _, b in tr])
        xte, yte = _rows(_unpickle(root / "test_batch"), b"labels", root / "test_batch")
        meta = _unpickle_meta(root / "batches.meta", b"label_names")
        n = 10
    else:
        xtr, ytr = _rows(_unpickle(root / "train"), b"fine_labels", root / "train")
        xte, yte = _rows(_unpickle(root / "test"), b"fine_labels", root / "test")
        meta = _unpickle_meta(root / "meta", b"fine_label_names")
        n = 100
    for y, what in ((ytr, "train"), (yte, "test")):
        if len(y) and (y.min() < 0 or y.max() >= n):
            raise ValueError(f"CIFAR-{variant} {what} labels outside 0..{n - 1}")
    xtr_t, xte_t = _standardise(xtr, xte)
    return Dataset(f"cifar{variant}", xtr_t, torch.from_numpy(ytr), xte_t, torch.from_numpy(yte), n, meta)


def _unpickle_meta(path: pathlib.Path, key: bytes) -> tuple[str, ...]:
    d = _load_pickle(path, "meta file")
    names = d.get(key, []) if isinstance(d, dict) else []
    if not isinstance(names, (list, tuple)):
        raise ValueError(f"{path}: {key!r} is not a list of class names")
    return tuple(n.decode(errors="replace") if isinstance(n, bytes) else str(n) for n in names)


def load_dataset(name: str = "digits", data_dir: str | pathlib.Path | None = None) -> Dataset:
    """A data set by name: ``digits`` (embedded), ``cifar10`` or ``cifar100`` (from ``data_dir``)."""
    if name == "digits":
        return load_digits()
    if name in ("cifar10", "cifar100"):
        if data_dir is None:
            raise ValueError(f"{name} needs --data-dir (a folder with the python-pickle batches); nothing is "
                             "downloaded")
        return load_cifar(data_dir, 10 if name == "cifar10" else 100)
    raise ValueError(f"unknown data set {name!r}; allowed: {', '.join(DATASETS)}")

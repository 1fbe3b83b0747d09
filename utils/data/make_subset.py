"""Rebuild the embedded subset ``fashion_mnist_subset.npz`` from the full Fashion-MNIST.

    python -m utils.data.make_subset [--path FOLDER]

It keeps the first 600 training and the first 100 test images of each class, in file order, so the
subset is balanced, real and reproducible from the official files.
"""

from __future__ import annotations

import argparse

import numpy as np

from .fashion_mnist import EMBEDDED, load_fashion_mnist

PER_CLASS = {"train": 600, "test": 100}


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` examples of every class, sorted in file order."""
    picks = [np.flatnonzero(labels == c)[:per_class] for c in range(10)]
    return np.sort(np.concatenate(picks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", help="folder with the full Fashion-MNIST files")
    args = parser.parse_args()
    arrays = {}
    for split, count in PER_CLASS.items():
        images, labels = load_fashion_mnist(split, source="full", path=args.path, download=False)
        keep = first_per_class(labels, count)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = images[keep], labels[keep].astype(np.uint8)
    np.savez_compressed(EMBEDDED, **arrays)
    print(f"wrote {EMBEDDED} ({EMBEDDED.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

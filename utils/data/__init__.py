"""Data for the notebooks: Fashion-MNIST (embedded subset or the full set) and small synthetic images."""

from .fashion_mnist import CLASS_NAMES, DatasetError, find_full_dataset, load_fashion_mnist, to_tensors

__all__ = ["CLASS_NAMES", "DatasetError", "find_full_dataset", "load_fashion_mnist", "to_tensors"]

"""Fashion-MNIST: 70,000 greyscale 28x28 images of clothing in 10 classes (Zalando, MIT licence).

Two sources:

- ``"embedded"`` (the default): a balanced subset of the real images shipped inside this package,
  600 training and 100 test images per class. Loads offline in milliseconds; every notebook and test uses it.
- ``"full"``: the whole set (60,000 + 10,000), found in this order:
  1. the ``path`` argument;
  2. the environment variable ``FASHION_MNIST_DIR``;
  3. the user cache, ``$XDG_CACHE_HOME/cnn-workbook/fashion-mnist`` (default ``~/.cache/...``);
  4. Debian's ``dataset-fashion-mnist`` package, ``/usr/share/datasets/fashion-mnist/``;
  5. a download from the official mirrors into the user cache (SHA-256 verified, written atomically).

Choose the source per call (``source="full"``) or for a whole notebook with ``WORKBOOK_DATA=full``.
Files may be gzipped (``*.gz``) or not; their decompressed content is what the checksums cover, so
re-compressed copies (Debian's, for one) verify too.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
# SHA-256 of the decompressed IDX files.
SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
EMBEDDED = Path(__file__).with_name("fashion_mnist_subset.npz")
ENV_DIR = "FASHION_MNIST_DIR"
ENV_SOURCE = "WORKBOOK_DATA"

HOW_TO_GET_IT = (
    "To use the full Fashion-MNIST offline, do one of:\n"
    "  - on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
    "  - download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist "
    "into {cache} (or any folder named by FASHION_MNIST_DIR)\n"
    "  - or stay with the embedded subset: source='embedded' (the default)."
)


class DatasetError(RuntimeError):
    """Fashion-MNIST could not be found, read or verified. The message says what to do."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnn-workbook" / "fashion-mnist"


def load_fashion_mnist(split: str = "train", source: str | None = None, path: str | Path | None = None,
                       download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)``: images uint8 (N, 28, 28), labels int64 (N,) with values 0..9.

    split: "train" or "test". source: "embedded", "full", or None for ``$WORKBOOK_DATA`` (default embedded).
    path and download only matter for the full set (see the module docstring for the lookup order).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    source = source or os.environ.get(ENV_SOURCE, "embedded")
    if source == "embedded":
        with np.load(EMBEDDED) as data:
            return data[f"x_{split}"], data[f"y_{split}"].astype(np.int64)
    if source != "full":
        raise ValueError(f"source must be 'embedded' or 'full', got {source!r}")
    folder = find_full_dataset(path, download=download)
    images = read_idx(_existing_file(folder, FILES[split, "images"]), SHA256[FILES[split, "images"]])
    labels = read_idx(_existing_file(folder, FILES[split, "labels"]), SHA256[FILES[split, "labels"]])
    return images, labels.astype(np.int64)


def to_tensors(images: np.ndarray, labels: np.ndarray):
    """uint8 (N, 28, 28) images and labels -> float32 tensor (N, 1, 28, 28) in [0, 1] and int64 tensor (N,)."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(np.asarray(labels, dtype=np.int64))


def find_full_dataset(path: str | Path | None = None, download: bool = True, *, system_dir: Path | None = None,
                      cache: Path | None = None, mirrors=None, checksums=None) -> Path:
    """Return the folder that holds all four files, following the lookup order; download as a last resort.

    An explicitly named folder (argument or environment variable) that lacks the files is an error,
    not a reason to look elsewhere: the user asked for that folder.
    """
    cache = cache or cache_dir()
    system_dir = system_dir or SYSTEM_DIR
    checksums = checksums or SHA256
    explicit = path or os.environ.get(ENV_DIR)
    if explicit:
        folder = Path(explicit).expanduser()
        missing = [name for name in checksums if _find_file(folder, name) is None]
        if missing:
            origin = "path argument" if path else f"${ENV_DIR}"
            raise DatasetError(f"the {origin} names {folder}, which lacks {', '.join(missing)} (.gz or not).\n"
                               + HOW_TO_GET_IT.format(cache=cache))
        return folder
    for folder in (cache, system_dir):
        if all(_find_file(folder, name) is not None for name in checksums):
            return folder
    if not download:
        raise DatasetError("the full Fashion-MNIST was not found in "
                           f"{cache} or {system_dir}, and download=False.\n" + HOW_TO_GET_IT.format(cache=cache))
    download_fashion_mnist(cache, mirrors=mirrors, checksums=checksums)
    return cache


def download_fashion_mnist(target: Path, mirrors=None, checksums=None, progress: bool = True) -> None:
    """Download every missing file into ``target``; each is verified before it gets its final name."""
    mirrors, checksums = mirrors or MIRRORS, checksums or SHA256
    target.mkdir(parents=True, exist_ok=True)
    for name, digest in checksums.items():
        if _find_file(target, name) is not None:
            continue
        failures = []
        for mirror in mirrors:
            url = mirror + name + ".gz"
            try:
                _download_verified(url, target / f"{name}.gz", digest, progress)
                break
            except (OSError, urllib.error.URLError, DatasetError) as error:
                failures.append(f"{url}: {getattr(error, 'reason', error)}")
        else:
            raise DatasetError(
                f"could not download {name}.gz (no network, or the mirrors failed):\n  "
                + "\n  ".join(failures) + "\n" + HOW_TO_GET_IT.format(cache=target)
            )


def _download_verified(url: str, final: Path, digest: str, progress: bool) -> None:
    from tqdm.auto import tqdm

    handle, part = tempfile.mkstemp(dir=final.parent, prefix=final.name, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=final.name, disable=not progress) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
        _verify(Path(part), digest)  # raises DatasetError, and the partial file is removed below
        os.replace(part, final)  # atomic: the final name only ever holds a verified file
    finally:
        if os.path.exists(part):
            os.remove(part)


def read_idx(path: Path, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a numpy array, checking its header, length and checksum."""
    raw = _read_bytes(path)
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise DatasetError(f"{path} has the wrong SHA-256 checksum: it is corrupt or not the Fashion-MNIST file "
                           f"{path.name}. Delete it and load again (or reinstall the package that provided it).")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DatasetError(f"{path} is not an IDX file of unsigned bytes (bad magic number {raw[:4].hex()}).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path} is truncated: it ends inside its header.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "longer than its header says"
        raise DatasetError(f"{path} is {state}: the header promises {expected} bytes for shape {shape}, "
                           f"the file holds {len(raw)}. Delete it and load again.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _verify(path: Path, digest: str) -> None:
    if hashlib.sha256(_read_bytes(path)).hexdigest() != digest:
        raise DatasetError(f"checksum mismatch for the downloaded {path.name}: the download is corrupt.")


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw  # gzip by content, not by name
    except (EOFError, OSError, zlib.error) as error:
        raise DatasetError(f"{path} cannot be read ({type(error).__name__}: {error}); it is truncated or corrupt. "
                           "Delete it and load again.") from None


def _find_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _existing_file(folder: Path, name: str) -> Path:
    found = _find_file(folder, name)
    if found is None:  # pragma: no cover - find_full_dataset guarantees it
        raise DatasetError(f"{folder} lacks {name}")
    return found

"""Fashion-MNIST loading: the embedded subset, the lookup order, and every way a file can be bad.

The full-set tests use tiny IDX files the tests write themselves, with matching checksums passed in;
"downloads" come from file:// mirrors. Nothing here touches the network.
"""

import gzip
import hashlib
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from utils.data import fashion_mnist as fm
from utils.data import CLASS_NAMES, DatasetError, load_fashion_mnist, to_tensors


# -- the embedded subset -------------------------------------------------------------------------

def test_embedded_subset_is_balanced_and_real():
    x_train, y_train = load_fashion_mnist("train", source="embedded")
    x_test, y_test = load_fashion_mnist("test", source="embedded")
    assert x_train.shape == (6000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (1000, 28, 28)
    assert np.bincount(y_train).tolist() == [600] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    assert y_train.dtype == np.int64
    assert 0 < x_train.mean() < 255 and x_train.max() == 255  # real images, not blank placeholders
    assert len(CLASS_NAMES) == 10


def test_embedded_subset_matches_the_full_set_when_present():
    if not all((fm.SYSTEM_DIR / f"{n}.gz").exists() for n in fm.SHA256):
        pytest.skip("Debian's dataset-fashion-mnist is not installed on this machine")
    from utils.data.make_subset import PER_CLASS, first_per_class

    full_x, full_y = load_fashion_mnist("test", source="full", path=fm.SYSTEM_DIR)
    keep = first_per_class(full_y, PER_CLASS["test"])
    x, y = load_fashion_mnist("test", source="embedded")
    assert np.array_equal(full_x[keep], x) and np.array_equal(full_y[keep], y)


def test_source_switch_by_environment(monkeypatch):
    monkeypatch.setenv("WORKBOOK_DATA", "nonsense")
    with pytest.raises(ValueError, match="'embedded' or 'full'"):
        load_fashion_mnist()
    monkeypatch.setenv("WORKBOOK_DATA", "embedded")
    assert load_fashion_mnist("test")[0].shape == (1000, 28, 28)


def test_bad_split():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_fashion_mnist("validation")


def test_to_tensors_shapes_and_range():
    x, y = load_fashion_mnist("test")
    tx, ty = to_tensors(x[:5], y[:5])
    assert tuple(tx.shape) == (5, 1, 28, 28) and str(tx.dtype) == "torch.float32"
    assert 0.0 <= float(tx.min()) and float(tx.max()) <= 1.0
    assert str(ty.dtype) == "torch.int64"


# -- tiny IDX files ---------------------------------------------------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def fake_dataset(folder: Path, compress: bool = True, n: int = 6) -> dict:
    """Write four small IDX files into folder; return their checksums (of the decompressed bytes)."""
    rng = np.random.default_rng(0)
    contents = {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (n, 28, 28))),
        "train-labels-idx1-ubyte": idx_bytes(np.arange(n) % 10),
        "t10k-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (2, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_bytes(np.array([3, 4])),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in contents.items():
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return {name: hashlib.sha256(raw).hexdigest() for name, raw in contents.items()}


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No environment variables, an empty cache and an empty system folder, fake checksums."""
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "system")
    return tmp_path


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_gz_and_raw(tmp_path, compress):
    sums = fake_dataset(tmp_path, compress)
    name = "train-labels-idx1-ubyte"
    path = tmp_path / (f"{name}.gz" if compress else name)
    assert fm.read_idx(path, sums[name]).tolist() == [0, 1, 2, 3, 4, 5]


def test_read_idx_truncated_gzip(tmp_path):
    sums = fake_dataset(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError, match="truncated or corrupt.*Delete it"):
        fm.read_idx(path, sums["train-images-idx3-ubyte"])


def test_read_idx_truncated_raw_file_without_checksum(tmp_path):
    fake_dataset(tmp_path, compress=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="is truncated: the header promises 4720 bytes"):
        fm.read_idx(path)


def test_read_idx_wrong_checksum(tmp_path):
    fake_dataset(tmp_path)
    with pytest.raises(DatasetError, match="wrong SHA-256"):
        fm.read_idx(tmp_path / "train-labels-idx1-ubyte.gz", "0" * 64)


def test_read_idx_not_an_idx_file(tmp_path):
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(DatasetError, match="bad magic number"):
        fm.read_idx(path)


def test_real_checksums_are_those_of_the_decompressed_official_files():
    assert set(fm.SHA256) == set(fm.FILES.values())
    assert all(len(digest) == 64 for digest in fm.SHA256.values())


# -- the lookup order -------------------------------------------------------------------------------

def test_lookup_prefers_explicit_path(isolated, monkeypatch):
    sums = fake_dataset(isolated / "explicit")
    fake_dataset(isolated / "from_env")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(isolated / "from_env"))
    assert fm.find_full_dataset(isolated / "explicit", checksums=sums) == isolated / "explicit"


def test_lookup_environment_before_cache_and_system(isolated, monkeypatch):
    sums = fake_dataset(isolated / "from_env")
    fake_dataset(fm.cache_dir())
    fake_dataset(fm.SYSTEM_DIR)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(isolated / "from_env"))
    assert fm.find_full_dataset(checksums=sums, system_dir=fm.SYSTEM_DIR) == isolated / "from_env"


def test_lookup_cache_before_system_then_system(isolated):
    sums = fake_dataset(fm.SYSTEM_DIR, compress=False)
    assert fm.find_full_dataset(checksums=sums, system_dir=fm.SYSTEM_DIR) == fm.SYSTEM_DIR
    fake_dataset(fm.cache_dir())
    assert fm.find_full_dataset(checksums=sums, system_dir=fm.SYSTEM_DIR) == fm.cache_dir()


def test_explicit_folder_without_files_is_an_error_not_a_fallback(isolated, monkeypatch):
    fake_dataset(fm.SYSTEM_DIR)
    (isolated / "empty").mkdir()
    monkeypatch.setenv("FASHION_MNIST_DIR", str(isolated / "empty"))
    with pytest.raises(DatasetError, match=r"\$FASHION_MNIST_DIR names .*empty, which lacks"):
        fm.find_full_dataset(system_dir=fm.SYSTEM_DIR)


def test_load_full_from_a_folder(isolated, monkeypatch):
    sums = fake_dataset(isolated / "data")
    monkeypatch.setattr(fm, "SHA256", sums)
    images, labels = load_fashion_mnist("test", source="full", path=isolated / "data")
    assert images.shape == (2, 28, 28) and labels.tolist() == [3, 4]


def test_corrupt_file_found_by_lookup_is_reported(isolated, monkeypatch):
    sums = fake_dataset(isolated / "data")
    monkeypatch.setattr(fm, "SHA256", sums)
    (isolated / "data" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x02\x09\x09"))
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz has the wrong SHA-256"):
        load_fashion_mnist("test", source="full", path=isolated / "data")


# -- downloading --------------------------------------------------------------------------------------

def mirror_of(folder: Path) -> str:
    return folder.as_uri() + "/"


def test_download_from_a_mirror_verifies_and_places_files(isolated):
    sums = fake_dataset(isolated / "mirror")
    found = fm.find_full_dataset(checksums=sums, mirrors=(mirror_of(isolated / "mirror"),),
                                 system_dir=fm.SYSTEM_DIR)
    assert found == fm.cache_dir()
    assert sorted(p.name for p in found.iterdir()) == sorted(f"{n}.gz" for n in sums)  # no .part leftovers
    assert fm.read_idx(found / "t10k-labels-idx1-ubyte.gz", sums["t10k-labels-idx1-ubyte"]).tolist() == [3, 4]


def test_download_falls_back_to_the_next_mirror(isolated):
    sums = fake_dataset(isolated / "good")
    (isolated / "broken").mkdir()
    mirrors = (mirror_of(isolated / "broken"), mirror_of(isolated / "good"))
    assert fm.find_full_dataset(checksums=sums, mirrors=mirrors, system_dir=fm.SYSTEM_DIR) == fm.cache_dir()


def test_download_with_wrong_checksum_leaves_nothing_behind(isolated):
    fake_dataset(isolated / "mirror")
    wrong = {name: "0" * 64 for name in fm.SHA256}
    with pytest.raises(DatasetError, match="checksum mismatch"):
        fm.find_full_dataset(checksums=wrong, mirrors=(mirror_of(isolated / "mirror"),), system_dir=fm.SYSTEM_DIR)
    assert list(fm.cache_dir().iterdir()) == []


def test_download_truncated_file_leaves_nothing_behind(isolated):
    sums = fake_dataset(isolated / "mirror")
    path = isolated / "mirror" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(DatasetError, match="could not download train-images-idx3-ubyte.gz"):
        fm.find_full_dataset(checksums=sums, mirrors=(mirror_of(isolated / "mirror"),), system_dir=fm.SYSTEM_DIR)
    assert not any(p.name.startswith("train-images") for p in fm.cache_dir().iterdir())


def test_no_network_and_nothing_local_says_what_to_do(isolated, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(fm.urllib.request, "urlopen", offline)
    with pytest.raises(DatasetError) as error:
        load_fashion_mnist("train", source="full")
    message = str(error.value)
    assert "no network" in message and "name resolution" in message
    assert "apt-get install dataset-fashion-mnist" in message and "source='embedded'" in message


def test_download_false_does_not_touch_the_network(isolated, monkeypatch):
    monkeypatch.setattr(fm.urllib.request, "urlopen", lambda *a, **k: pytest.fail("network used"))
    with pytest.raises(DatasetError, match="download=False"):
        fm.find_full_dataset(download=False, system_dir=fm.SYSTEM_DIR)


def test_read_idx_corrupt_gzip_body(tmp_path):
    fake_dataset(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[15:25] = b"\xff" * 10
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        fm.read_idx(path)

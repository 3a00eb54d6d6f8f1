"""Downloads: pinned digests enforced, bad files never kept, first downloads recorded (offline, file:// URLs)."""

import hashlib
import io
import tarfile

import numpy as np
import pytest

from diffrob.data import CIFAR10_RECORD, download_cifar10, read_cifar10_binary
from diffrob.io import ChecksumError, digest_record, fetch_checked, url_fetcher
from diffrob.models.robustbench import robustbench_download

PAYLOAD = b"weights " * 1000
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def served(tmp_path):
    """A file served at a file:// URL, as a remote checkpoint would be."""
    source = tmp_path / "remote" / "model.pt"
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    return source


def test_a_download_with_the_pinned_digest_lands(tmp_path, served):
    dest = tmp_path / "checkpoints" / "model.pt"
    assert fetch_checked(url_fetcher(served.as_uri()), dest, DIGEST) == DIGEST
    assert dest.read_bytes() == PAYLOAD
    assert not list(dest.parent.glob(".*part"))


def test_a_prefix_of_the_digest_is_enough(tmp_path, served):
    dest = tmp_path / "model.pt"
    fetch_checked(url_fetcher(served.as_uri()), dest, DIGEST[:8].upper())
    assert dest.is_file()


@pytest.mark.parametrize("damage", ["wrong", "truncated"])
def test_a_wrong_or_truncated_file_fails_naming_path_and_digests_and_is_removed(tmp_path, served, damage):
    served.write_bytes(b"other bytes" if damage == "wrong" else PAYLOAD[:100])
    dest = tmp_path / "checkpoints" / "model.pt"
    with pytest.raises(ChecksumError) as err:
        fetch_checked(url_fetcher(served.as_uri()), dest, DIGEST)
    message = str(err.value)
    assert str(dest) in message and DIGEST in message
    assert hashlib.sha256(served.read_bytes()).hexdigest() in message
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_an_unpinned_first_download_is_recorded_and_enforced_later(tmp_path, served):
    dest = tmp_path / "model.pt"
    fetch_checked(url_fetcher(served.as_uri()), dest, None)
    assert digest_record(dest).read_text().split()[0] == DIGEST
    dest.unlink()
    served.write_bytes(b"replaced upstream")
    with pytest.raises(ChecksumError, match=DIGEST):
        fetch_checked(url_fetcher(served.as_uri()), dest, None)
    assert not dest.exists()


def test_a_failed_fetch_leaves_nothing(tmp_path):
    dest = tmp_path / "model.pt"

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise ConnectionError("network went away")

    with pytest.raises(ConnectionError):
        fetch_checked(broken, dest, DIGEST)
    assert list(tmp_path.iterdir()) == []


def test_robustbench_sources_are_its_zoo_ids_and_torchvision_urls():
    kind, where = robustbench_download("Standard", "cifar10", "Linf")
    assert (kind, where) == ("gdrive", "1t98aEuzeTL8P7Kpd5DIrCoCL21BNZUhC")
    kind, where = robustbench_download("Standard_R50", "imagenet", "Linf")
    assert kind == "url" and where.endswith("resnet50-0676ba61.pth")
    with pytest.raises(KeyError, match="Nobody2099"):
        robustbench_download("Nobody2099", "cifar10", "Linf")


def _cifar_records(n: int, seed: int = 0) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    pixels = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
    return np.concatenate([labels[:, None], pixels], axis=1).tobytes(), labels, pixels


def test_the_cifar10_reader_decodes_binary_batches(tmp_path):
    data, labels, pixels = _cifar_records(5)
    path = tmp_path / "test_batch.bin"
    path.write_bytes(data)
    images = read_cifar10_binary(path, 3)
    assert images.images.shape == (3, 3, 32, 32)
    assert images.labels.tolist() == labels[:3].tolist()
    np.testing.assert_allclose(images.images[1, 2].numpy().ravel() * 255, pixels[1, 2048:], atol=1e-4)
    path.write_bytes(data[: 2 * CIFAR10_RECORD + 7])
    with pytest.raises(ValueError, match="not a whole number"):
        read_cifar10_binary(path)


def test_the_cifar10_download_extracts_an_md5_checked_archive(tmp_path):
    data, labels, _ = _cifar_records(4, seed=1)
    archive = tmp_path / "remote" / "cifar-10-binary.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    batch = download_cifar10(tmp_path / "cifar10", archive.as_uri(), md5)
    assert read_cifar10_binary(batch).labels.tolist() == labels.tolist()
    with pytest.raises(ChecksumError, match="md5 mismatch: expected 0000"):
        download_cifar10(tmp_path / "other", archive.as_uri(), "0" * 32)
    assert list((tmp_path / "other").iterdir()) == []

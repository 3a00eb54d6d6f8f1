"""Downloads of pretrained checkpoints, pinned and sha256-checked.

Every download lands in a hidden temporary file (or folder) beside its destination, is checked, and
only then renamed into place: a wrong or truncated file is removed and never left where a later run
would trust it. The expected digest is the one given (a full sha256 or a prefix of at least 8 hex
digits, the convention of torchvision's file names), else the hub's own LFS digest at the pinned
revision, else the digest recorded beside the file by its first download (trust on first use:
``<file>.sha256``; every later download must match it). Nothing here unpickles anything.

The downloaders are the packages' own: ``torch.hub.download_url_to_file`` for URLs, RobustBench's
gdown-based ``download_gdrive_new`` for its model zoo, ``huggingface_hub.snapshot_download`` for hub
repositories.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from diffrob.io import atomic_dir, write_text

LOG = logging.getLogger(__name__)
HUB_FILES = ("config.json", "scheduler_config.json")
HUB_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")


def fid_weights_url() -> str:
    """Where pytorch-fid publishes its FID Inception weights: the ``FID_WEIGHTS_URL`` of the installed
    ``pytorch_fid.inception``, read from its source so that planning a workflow never imports torch."""
    spec = importlib.util.find_spec("pytorch_fid.inception")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("pytorch_fid is not installed: it names the FID Inception weights")
    for node in ast.parse(Path(spec.origin).read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "FID_WEIGHTS_URL" for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{spec.origin}: no FID_WEIGHTS_URL constant")


class ChecksumError(ValueError):
    """A downloaded file's sha256 differs from the expected one."""


def sha256_file(path: str | Path, chunk_size: int = 1 << 20, algorithm: str = "sha256") -> str:
    """The hex digest (sha256 unless ``algorithm`` says otherwise) of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def digest_record(dest: str | Path) -> Path:
    """Where the first download of ``dest`` records its digest (trust on first use)."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".sha256")


def expected_digest(dest: str | Path, sha256: str | None) -> str | None:
    """The digest a download of ``dest`` must have: the given one, else the recorded one, else None."""
    if sha256:
        return sha256.lower()
    record = digest_record(dest)
    return record.read_text().split()[0] if record.is_file() else None


def verify_sha256(path: str | Path, expected: str | None, name: str | None = None, algorithm: str = "sha256") -> str:
    """Check ``path`` against ``expected`` (full digest or a prefix >= 8 hex digits); return the digest.

    On a mismatch the file is removed and :class:`ChecksumError` names it, the expected and the
    actual digest. ``algorithm``: ``"sha256"``, or ``"md5"`` where only that is published.
    """
    path = Path(path)
    actual = sha256_file(path, algorithm=algorithm)
    if expected is not None:
        if len(expected) < 8:
            raise ValueError(f"expected sha256 {expected!r} of {name or path}: give at least 8 hex digits")
        if not actual.startswith(expected.lower()):
            size = path.stat().st_size
            path.unlink()
            raise ChecksumError(
                f"{name or path}: {algorithm} mismatch: expected {expected}, got {actual} ({size} bytes); "
                "the file was removed, run again to re-download"
            )
    return actual


def fetch_checked(
    fetch: Callable[[Path], None], dest: str | Path, sha256: str | None, algorithm: str = "sha256"
) -> str:
    """Download with ``fetch(temporary_path)``, check the digest, then move into ``dest``; return the digest.

    With no digest given or recorded, the first download's digest is recorded in ``<dest>.sha256``
    and a warning says how to pin it.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.unlink(missing_ok=True)
    expected = expected_digest(dest, sha256) if algorithm == "sha256" else sha256
    try:
        fetch(tmp)
        if not tmp.is_file():
            raise FileNotFoundError(f"{dest}: the download produced no file")
        actual = verify_sha256(tmp, expected, name=str(dest), algorithm=algorithm)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(dest)
    if expected is None and algorithm == "sha256":
        write_text(f"{actual}  {dest.name}\n", digest_record(dest))
        LOG.warning("%s: no sha256 given; recorded %s in %s (pin it in the config)", dest, actual, digest_record(dest))
    return actual


def url_fetcher(url: str) -> Callable[[Path], None]:
    """A fetcher for a plain URL (``torch.hub.download_url_to_file``, with a progress bar)."""
    import torch.hub

    return lambda tmp: torch.hub.download_url_to_file(url, str(tmp), progress=True)


def gdrive_fetcher(gdrive_id: str) -> Callable[[Path], None]:
    """A fetcher for a Google Drive id, through RobustBench's own downloader (gdown)."""
    from diffrob.compat import import_robustbench

    import_robustbench()
    from robustbench.utils import download_gdrive_new

    return lambda tmp: download_gdrive_new(gdrive_id, tmp)


def robustbench_download(name: str, dataset: str, threat_model: str) -> tuple[str, str]:
    """Where RobustBench gets a model's weights: ``("gdrive", id)`` or ``("url", torchvision weights URL)``.

    RobustBench's ImageNet ``Standard_R50`` is torchvision's pretrained model, downloaded from
    torchvision's own URL (whose file name carries a sha256 prefix); every other entry has a Google
    Drive id.
    """
    from diffrob.sources import torchvision_weights_url

    entry = robustbench_entry(name, dataset, threat_model)
    url = torchvision_weights_url(name, dataset)
    if url is not None:
        return "url", url
    gdrive_id = entry.get("gdrive_id")
    if not gdrive_id or isinstance(gdrive_id, list):
        raise ValueError(f"RobustBench model {name} ({dataset}, {threat_model}): no single Google Drive id")
    return "gdrive", str(gdrive_id)


def robustbench_entry(name: str, dataset: str, threat_model: str) -> dict:
    """RobustBench's model-zoo entry (architecture constructor, weights id) for a model."""
    from diffrob.compat import import_robustbench

    import_robustbench()
    from robustbench.model_zoo import model_dicts
    from robustbench.model_zoo.enums import BenchmarkDataset, ThreatModel

    zoo = model_dicts[BenchmarkDataset(dataset)][ThreatModel(threat_model)]
    if name not in zoo:
        raise KeyError(f"RobustBench has no model {name!r} for {dataset} / {threat_model}")
    return zoo[name]


def download_robustbench(
    name: str, dataset: str, threat_model: str, dest: str | Path, sha256: str | None, url: str | None = None
) -> str:
    """Download a RobustBench model's weights file to ``dest`` (checked); return its sha256.

    ``url``: a mirror of the file (``https://`` or ``file://``) read instead of RobustBench's own source;
    the digest is then ``sha256`` (recorded on first download when None).
    """
    if url is not None:
        return fetch_checked(url_fetcher(url), dest, sha256)
    kind, where = robustbench_download(name, dataset, threat_model)
    if kind == "url" and not sha256:
        sha256 = Path(where).stem.rsplit("-", 1)[-1]  # torchvision file names end in a sha256 prefix
    fetch = url_fetcher(where) if kind == "url" else gdrive_fetcher(where)
    return fetch_checked(fetch, dest, sha256)


def hub_lfs_sha256(repo_id: str, revision: str, filename: str) -> str | None:
    """The sha256 the hub publishes for an LFS file of ``repo_id`` at ``revision`` (None if not LFS)."""
    from huggingface_hub import HfApi

    info = HfApi().get_paths_info(repo_id, [filename], revision=revision)
    lfs = getattr(info[0], "lfs", None) if info else None
    return None if lfs is None else str(lfs.sha256)


def mirror_snapshot(mirror: str, local_dir: Path) -> None:
    """Copy a diffusers repository's UNet and scheduler files from ``mirror`` (a folder URL) into ``local_dir``.

    The configuration files are required; of the weights files the first one present is taken.
    """
    from urllib.error import URLError

    base = mirror.rstrip("/")
    for name in HUB_FILES:
        url_fetcher(f"{base}/{name}")(local_dir / name)
    for name in HUB_WEIGHTS:
        try:
            url_fetcher(f"{base}/{name}")(local_dir / name)
            return
        except (URLError, FileNotFoundError):
            continue


def download_hub(repo_id: str, revision: str, dest: str | Path, sha256: str | None, mirror: str | None = None) -> str:
    """Download a diffusers repository's UNet and scheduler at a pinned revision into folder ``dest``.

    The weights file is checked against ``sha256`` or else the hub's published LFS digest at that
    revision. ``mirror``: a folder URL (``https://`` or ``file://``) holding the repository's files at
    that revision, read instead of the hub; without a ``sha256`` its digest is recorded on first
    download and enforced afterwards. Returns the weights' digest.
    """
    with atomic_dir(dest) as tmp:
        if mirror is None:
            from huggingface_hub import snapshot_download

            snapshot_download(repo_id, revision=revision, local_dir=str(tmp), allow_patterns=[*HUB_FILES, *HUB_WEIGHTS])
            shutil.rmtree(Path(tmp) / ".cache", ignore_errors=True)
        else:
            mirror_snapshot(mirror, Path(tmp))
        weights = next((Path(tmp) / w for w in HUB_WEIGHTS if (Path(tmp) / w).is_file()), None)
        if weights is None:
            raise FileNotFoundError(f"{repo_id}@{revision}: none of {', '.join(HUB_WEIGHTS)} in the repository")
        if mirror is None:
            expected = sha256 or hub_lfs_sha256(repo_id, revision, weights.name)
        else:
            expected = expected_digest(dest, sha256)
        actual = verify_sha256(weights, expected, name=f"{dest}/{weights.name} ({repo_id}@{revision})")
    if expected is None:
        write_text(f"{actual}  {Path(dest).name}/{weights.name}\n", digest_record(dest))
        LOG.warning("%s: no sha256 given; recorded %s in %s (pin it in the config)", dest, actual, digest_record(dest))
    return actual

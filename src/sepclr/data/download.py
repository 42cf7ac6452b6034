"""Downloads of the public datasets from their canonical addresses, checked against the
published MD5 checksums, resumable, with a progress bar.

A file is written as ``<name>.part`` and renamed only once its checksum matches, so an
interrupted or corrupt download is never taken for a complete file; a later call resumes a
``.part`` file with an HTTP range request when the server allows it. Archives (CIFAR-10) are
unpacked with tarfile's ``data`` filter (no absolute paths, links or devices outside the
target)."""

import hashlib
import os
import sys
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from sepclr.data import mice_protein
from sepclr.data.ca_dataset import CADataset
from sepclr.data.catalog import load
from sepclr.data.locations import search_roots
from sepclr.errors import CorruptFileError, DataNotFoundError, InvalidInputError
from sepclr.registry import DATASETS


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch: its address, its published MD5, and whether it is a ``.tar.gz`` to
    unpack into the data root."""

    url: str
    md5: str
    unpack: bool = False

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_DSPRITES = "https://github.com/deepmind/dsprites-dataset/raw/master/"

_IDX_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _idx_files(base: str, md5s: tuple[str, str, str, str]) -> tuple[RemoteFile, ...]:
    """The four IDX files of an MNIST-like dataset at ``base``, with their checksums."""
    return tuple(RemoteFile(base + name, md5) for name, md5 in zip(_IDX_NAMES, md5s, strict=True))


# name: (folder under the data root, files); checksums as published with each dataset
RESOURCES: dict[str, tuple[str, tuple[RemoteFile, ...]]] = {
    "mnist": (
        "mnist",
        _idx_files(
            _MNIST,
            (
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ),
        ),
    ),
    "fashion-mnist": (
        "fashion-mnist",
        _idx_files(
            _FASHION,
            (
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ),
        ),
    ),
    "cifar-10": (
        "",
        (
            RemoteFile(
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                "c58f30108f718f92721af3b95e74349a",
                unpack=True,
            ),
        ),
    ),
    "dsprites": (
        "dsprites",
        (
            RemoteFile(
                _DSPRITES + "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
                "7da33b31b13a06f4b04a70402ce90c2e",
            ),
        ),
    ),
    "mice-protein": (
        mice_protein.FOLDER,
        (RemoteFile(mice_protein.URL, mice_protein.MD5),),
    ),
}
_CHUNK = 1 << 20


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    url: str, destination: Path, md5: str, progress: bool = True, timeout: float = 60
) -> Path:
    """Download ``url`` to ``destination`` unless it is already there with checksum
    ``md5``; resume ``destination.part`` when it exists. A checksum mismatch deletes the
    partial file and raises :class:`CorruptFileError`."""
    if destination.is_file() and md5_of(destination) == md5:
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    done = partial.stat().st_size if partial.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = done > 0 and response.status == 206
            if not resumed:
                done = 0
            total = response.headers.get("Content-Length")
            size = done + int(total) if total is not None else None
            with (
                partial.open("ab" if resumed else "wb") as out,
                tqdm(
                    total=size,
                    initial=done,
                    unit="B",
                    unit_scale=True,
                    disable=not progress,
                    desc=destination.name,
                ) as bar,
            ):
                for block in iter(lambda: response.read(_CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise DataNotFoundError(
            f"could not download {url} ({exc}); {partial} keeps what arrived and the next "
            "download resumes it"
        ) from exc
    found = md5_of(partial)
    if found != md5:
        partial.unlink()
        raise CorruptFileError(
            f"{url} arrived with MD5 {found}, expected {md5}; the download was deleted, try again"
        )
    partial.replace(destination)
    return destination


def _unpack(archive: Path, into: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise CorruptFileError(f"{archive} could not be unpacked: {exc}") from exc


def download(
    name: str, root: str | Path | None = None, progress: bool = True, mirror: str | None = None
) -> Path:
    """Download the files of ``name`` (a key of :data:`RESOURCES`) into the data root and
    return their folder. ``mirror`` replaces the address's directory (a local copy)."""
    if name not in RESOURCES:
        raise InvalidInputError(
            f"nothing to download for {name!r}; choose from {sorted(RESOURCES)}"
        )
    folder, files = RESOURCES[name]
    base = search_roots(root)[0]  # root, else $SEPCLR_DATA, else ~/.cache/sepclr
    target = base / folder if folder else base
    for remote in files:
        url = remote.url if mirror is None else mirror.rstrip("/") + "/" + remote.name
        path = fetch(url, target / remote.name, remote.md5, progress)
        if remote.unpack:
            _unpack(path, target)
    return target


def load_or_fetch(
    name: str, root: str | Path | None, split: str, options: dict[str, Any], fetch: bool = True
) -> CADataset:
    """:func:`sepclr.data.catalog.load`, but when the files are missing and the dataset has
    public downloads (:attr:`sepclr.registry.DatasetInfo.downloads`), fetch them into the
    data root first; with ``fetch=False`` or ``$SEPCLR_OFFLINE`` set, the not-found error
    stands."""
    try:
        return load(name, root=root, split=split, **options)
    except DataNotFoundError:
        needs = DATASETS[name].downloads
        if not fetch or not needs or os.environ.get("SEPCLR_OFFLINE"):
            raise
    for resource in needs:
        print(f"downloading {resource} (missing for {name})", file=sys.stderr)
        download(resource, root)
    return load(name, root=root, split=split, **options)

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
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from sepclr.data.ca_dataset import CADataset
from sepclr.data.catalog import load
from sepclr.data.locations import search_roots
from sepclr.data.resources import Resource
from sepclr.errors import CorruptFileError, DataNotFoundError, InvalidInputError
from sepclr.registry import DATASETS

# every public resource a registered dataset needs, by name
RESOURCES: dict[str, Resource] = {
    resource.name: resource for info in DATASETS.values() for resource in info.downloads
}
_CHUNK = 1 << 20


def md5_of(path: Path) -> str:
    """The MD5 checksum of a file, read in blocks."""
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
    partial file and raises :class:`CorruptFileError`.
    """
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
    return their folder. ``mirror`` replaces the address's directory (a local copy).
    """
    if name not in RESOURCES:
        raise InvalidInputError(
            f"nothing to download for {name!r}; choose from {sorted(RESOURCES)}"
        )
    resource = RESOURCES[name]
    base = search_roots(root)[0]  # root, else $SEPCLR_DATA, else ~/.cache/sepclr
    target = base / resource.folder if resource.folder else base
    for remote in resource.files:
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
    stands.
    """
    try:
        return load(name, root=root, split=split, **options)
    except DataNotFoundError:
        needs = DATASETS[name].downloads
        if not fetch or not needs or os.environ.get("SEPCLR_OFFLINE"):
            raise
    for resource in needs:
        print(f"downloading {resource.name} (missing for {name})", file=sys.stderr)
        download(resource.name, root)
    return load(name, root=root, split=split, **options)

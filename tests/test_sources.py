"""Readers of the original file formats and the downloads, on files the tests write and a
loopback HTTP server."""

import hashlib
import http.server
import io
import os
import pickle
import tarfile
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from source_files import (
    cifar_batch_bytes,
    write_celeba,
    write_cifar,
    write_dsprites,
    write_jpeg,
    write_mnist,
)

from sepclr import cli
from sepclr.data import download as downloads
from sepclr.data.celeba import celeba_files, read_attributes
from sepclr.data.cifar import load_cifar10, read_batch
from sepclr.data.dsprites import load_dsprites
from sepclr.data.folder import labelled_folder
from sepclr.data.images import ImageFormat, read_image
from sepclr.data.resources import RemoteFile, Resource
from sepclr.data.sources import load_mnist
from sepclr.errors import CorruptFileError, DataNotFoundError, InvalidInputError

# --- original formats ---------------------------------------------------------------------


def test_mnist_idx_files_are_read(tmp_path):
    written = write_mnist(tmp_path, train=30, test=20)
    images, labels = load_mnist("test", tmp_path)
    assert images.shape == (20, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, written["test"][0])
    np.testing.assert_array_equal(labels, written["test"][1])


def test_cifar_batches_are_read_in_file_order(tmp_path):
    written = write_cifar(tmp_path, per_batch=7, test=5)
    images, labels = load_cifar10("train", tmp_path)
    assert images.shape == (35, 3, 32, 32)
    np.testing.assert_array_equal(images, written["train"][0])
    np.testing.assert_array_equal(labels, written["train"][1])
    test_images, _ = load_cifar10("test", tmp_path)
    np.testing.assert_array_equal(test_images, written["test"][0])


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_cifar_batch_with_other_globals_is_refused_without_running_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Exploit(), b"labels": [0]}, protocol=2))
    with pytest.raises(CorruptFileError, match=r"(posix|os)\.system is not allowed"):
        read_batch(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a pickle",
        cifar_batch_bytes(np.zeros((4, 3, 32, 32), np.uint8), np.arange(4))[:-40],
        pickle.dumps([1, 2, 3], protocol=2),
        cifar_batch_bytes(np.zeros((4, 3, 32, 32), np.uint8), np.array([0, 1, 2, 11])),
        pickle.dumps({b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}, protocol=2),
    ],
)
def test_corrupt_cifar_batches_give_a_clear_error(tmp_path, content):
    path = tmp_path / "data_batch_1"
    path.write_bytes(content)
    with pytest.raises(CorruptFileError, match="data_batch_1"):
        read_batch(path)


def test_dsprites_is_read_without_unpickling_its_metadata(tmp_path):
    images, latents = write_dsprites(tmp_path, 20)
    got_images, got_latents = load_dsprites(tmp_path)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_latents, latents)
    (tmp_path / "dsprites" / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz").write_bytes(
        b"PK junk"
    )
    with pytest.raises(CorruptFileError, match="not the dSprites archive"):
        load_dsprites(tmp_path)


@pytest.mark.parametrize("txt", [False, True])
def test_celeba_attributes_in_both_formats(tmp_path, txt):
    rows = write_celeba(tmp_path, per_kind=1, txt=txt)
    folder, attributes = celeba_files(tmp_path)
    assert folder.name == "img_align_celeba"
    assert attributes.images == [r[0] for r in rows]
    np.testing.assert_array_equal(attributes.column("Eyeglasses"), [r[2] for r in rows])
    with pytest.raises(CorruptFileError, match="no 'Blond_Hair'"):
        attributes.column("Blond_Hair")


def test_corrupt_celeba_attributes(tmp_path):
    path = tmp_path / "list_attr_celeba.csv"
    path.write_text("image_id,Male\n000001.jpg,1\n000002.jpg,2\n")
    with pytest.raises(CorruptFileError, match="-1 or 1"):
        read_attributes(path)
    path.write_text("image_id,Male\n000001.jpg\n")
    with pytest.raises(CorruptFileError, match="row 1 has 0 values"):
        read_attributes(path)
    txt = tmp_path / "list_attr_celeba.txt"
    txt.write_text("3\nMale\n000001.jpg 1\n")
    with pytest.raises(CorruptFileError, match="says 3 images, found 1"):
        read_attributes(txt)


def test_images_are_cropped_and_resized(tmp_path):
    write_jpeg(tmp_path / "a.jpg", (218, 178), seed=0)
    assert read_image(tmp_path / "a.jpg", ImageFormat(64, crop=108)).shape == (3, 64, 64)
    gray = ImageFormat(32, rgb=False, border=10)
    assert read_image(tmp_path / "a.jpg", gray).shape == (1, 32, 32)
    with pytest.raises(CorruptFileError, match="smaller than the 400 crop"):
        read_image(tmp_path / "a.jpg", ImageFormat(64, crop=400))
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.raises(CorruptFileError, match="not a readable image"):
        read_image(tmp_path / "b.jpg", ImageFormat(64))


def test_labelled_folder(tmp_path):
    for name in ("x/1.png", "x/2.png"):
        write_jpeg(tmp_path / name, (20, 20), seed=1, gray=True)
    table = tmp_path / "labels.tsv"
    table.write_text("file\tgroup\nx/1.png\tcontrol\nx/2.png\tpatient\n")
    folder = labelled_folder(tmp_path, table, "file")
    assert folder.column("group") == ["control", "patient"]
    with pytest.raises(InvalidInputError, match="no column 'age'"):
        folder.column("age")
    with pytest.raises(InvalidInputError, match="no column 'path' of image paths"):
        labelled_folder(tmp_path, table, "path")
    table.write_text("file\tgroup\nx/1.png\tcontrol\nx/3.png\tpatient\n")
    with pytest.raises(DataNotFoundError, match="1 image"):
        labelled_folder(tmp_path, table, "file")
    table.write_text("file\tgroup\nx/1.png\n")
    with pytest.raises(CorruptFileError, match="line 2 has 1 fields"):
        labelled_folder(tmp_path, table, "file")


# --- downloads against a loopback server --------------------------------------------------


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files and honours ``Range: bytes=N-`` (recorded in ``ranges``)."""

    ranges: ClassVar[list[str]] = []

    def log_message(self, *args):
        """Quiet: the tests read the server's answers, not its log."""

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        wanted = self.headers.get("Range")
        if wanted:
            type(self).ranges.append(wanted)
            start = int(wanted.split("=")[1].rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    _RangeHandler.ranges = []

    def handler(*args, **kwargs):
        return _RangeHandler(*args, directory=str(served), **kwargs)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_fetch_checks_the_checksum_and_leaves_no_partial_file(server, tmp_path):
    served, address = server
    data = os.urandom(3 * 2**20 + 17)
    (served / "blob.bin").write_bytes(data)
    out = tmp_path / "data" / "blob.bin"
    downloads.fetch(f"{address}/blob.bin", out, _md5(data), progress=False)
    assert out.read_bytes() == data
    assert not out.with_name("blob.bin.part").exists()
    out.unlink()
    with pytest.raises(CorruptFileError, match="expected 0000"):
        downloads.fetch(f"{address}/blob.bin", out, "0" * 32, progress=False)
    assert not out.exists() and not out.with_name("blob.bin.part").exists()


def test_fetch_resumes_a_partial_file_with_a_range_request(server, tmp_path):
    served, address = server
    data = os.urandom(2**20 + 5)
    (served / "blob.bin").write_bytes(data)
    out = tmp_path / "blob.bin"
    out.with_name("blob.bin.part").write_bytes(data[:1000])
    downloads.fetch(f"{address}/blob.bin", out, _md5(data), progress=False)
    assert out.read_bytes() == data
    assert _RangeHandler.ranges == ["bytes=1000-"]


def test_a_missing_server_is_a_clear_not_found_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="could not download"):
        downloads.fetch("http://127.0.0.1:9/none.bin", tmp_path / "none.bin", "0" * 32, False)


def test_download_unpacks_cifar_into_a_readable_folder(server, tmp_path, monkeypatch):
    served, address = server
    archive = io.BytesIO()
    batches = tmp_path / "made"
    write_cifar(batches, per_batch=3, test=2)
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(batches / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    data = archive.getvalue()
    (served / "cifar-10-python.tar.gz").write_bytes(data)
    remote = RemoteFile(f"{address}/cifar-10-python.tar.gz", _md5(data), unpack=True)
    monkeypatch.setitem(downloads.RESOURCES, "cifar-10", Resource("cifar-10", "", (remote,)))
    root = tmp_path / "root"
    downloads.download("cifar-10", root, progress=False)
    images, _ = load_cifar10("train", root)
    assert images.shape == (15, 3, 32, 32)


def test_an_archive_escaping_its_folder_is_refused(server, tmp_path, monkeypatch):
    served, address = server
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    data = archive.getvalue()
    (served / "evil.tar.gz").write_bytes(data)
    remote = RemoteFile(f"{address}/evil.tar.gz", _md5(data), unpack=True)
    monkeypatch.setitem(downloads.RESOURCES, "cifar-10", Resource("cifar-10", "", (remote,)))
    with pytest.raises(CorruptFileError, match="could not be unpacked"):
        downloads.download("cifar-10", tmp_path / "root", progress=False)
    assert not (tmp_path / "escaped.txt").exists()


def test_fit_downloads_missing_files_unless_told_not_to(server, tmp_path, monkeypatch, capsys):
    """`sepclr fit` on a public dataset whose files are missing: --no-download (or
    SEPCLR_OFFLINE) gives the not-found error naming the download command; otherwise the
    files are fetched into --data-dir first."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEPCLR_DATA", raising=False)
    served, address = server
    made = tmp_path / "made"
    write_mnist(made, train=40, test=20)
    monkeypatch.setattr(downloads, "RESOURCES", dict(downloads.RESOURCES))
    files = []
    for path in sorted((made / "mnist").iterdir()):
        (served / path.name).write_bytes(path.read_bytes())
        files.append(RemoteFile(f"{address}/{path.name}", _md5(path.read_bytes())))
    monkeypatch.setitem(downloads.RESOURCES, "mnist", Resource("mnist", "mnist", tuple(files)))
    data_dir = tmp_path / "data"
    argv = [
        "fit",
        "--dataset",
        "cifar-mnist",
        "--out",
        str(tmp_path / "run"),
        "--data-dir",
        str(data_dir),
    ]
    assert cli.main([*argv, "--no-download"]) == 1
    assert "sepclr download cifar-10" in capsys.readouterr().err
    assert not (data_dir / "mnist").exists()
    cli.main(["download", "mnist", "--data-dir", str(data_dir), "--quiet"])
    assert len(list((data_dir / "mnist").glob("*.gz"))) == 4
    np.testing.assert_array_equal(load_mnist("test", data_dir)[0], load_mnist("test", made)[0])

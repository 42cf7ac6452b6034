"""Public files a dataset can download: each :class:`Resource` is declared in the module that
reads its files, and named by the datasets that need it; ``sepclr download NAME`` fetches it
(:mod:`sepclr.data.download`)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch.

    Parameters
    ----------
    url : str
        Its address.
    md5 : str
        Its published MD5 checksum.
    unpack : bool
        Whether it is a ``.tar.gz`` to unpack into the data root.
    """

    url: str
    md5: str
    unpack: bool = False

    @property
    def name(self) -> str:
        """The file's name: the last part of its address."""
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Resource:
    """Public files that ``sepclr download NAME`` fetches.

    Parameters
    ----------
    name : str
        The name (``sepclr download name``).
    folder : str
        Their folder under the data root (``""``: the root itself, for an archive that
        unpacks into its own folder).
    files : tuple of RemoteFile
        The files.
    """

    name: str
    folder: str
    files: tuple[RemoteFile, ...]


IDX_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def idx_resource(name: str, base: str, md5s: tuple[str, str, str, str]) -> Resource:
    """The four IDX files of an MNIST-like dataset at the address ``base``, in ``name``'s
    folder, with their checksums.
    """
    files = tuple(RemoteFile(base + file, md5) for file, md5 in zip(IDX_NAMES, md5s, strict=True))
    return Resource(name, name, files)

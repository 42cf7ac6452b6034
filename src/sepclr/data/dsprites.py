"""dSprites (Matthey et al., 2017) in its original file,
``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``: ``imgs`` (737,280 x 64 x 64, 0/1) and
``latents_values`` (737,280 x 6: color, shape 1-3, scale 0.5-1, orientation 0-2 pi, posX,
posY in 0-1). The file's ``metadata`` entry is a pickle and is never read."""

import zipfile
from pathlib import Path

import numpy as np

from sepclr.data.locations import find_files
from sepclr.data.resources import RemoteFile, Resource
from sepclr.errors import CorruptFileError

FILE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
DSPRITES = Resource(
    "dsprites",
    "dsprites",
    (
        RemoteFile(
            "https://github.com/deepmind/dsprites-dataset/raw/master/" + FILE,
            "7da33b31b13a06f4b04a70402ce90c2e",
        ),
    ),
)
DSPRITES_HOW_TO_GET = (
    f"Get dSprites: `sepclr download dsprites` ({FILE} from the deepmind/dsprites-dataset "
    "repository, checksummed), or put that file into $SEPCLR_DATA/dsprites or "
    "~/.cache/sepclr/dsprites, or pass root=/--data-dir."
)
LATENTS = ("color", "shape", "scale", "orientation", "posX", "posY")


def load_dsprites(root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (n, 64, 64) with values 0/1 and float64 latent values (n, 6) in the
    order of :data:`LATENTS`.
    """
    (path,) = find_files("dsprites", [(FILE,)], root, DSPRITES_HOW_TO_GET)
    try:
        with np.load(path, allow_pickle=False) as archive:
            images = archive["imgs"]
            latents = archive["latents_values"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise CorruptFileError(f"{path} is not the dSprites archive: {exc}") from exc
    if images.ndim != 3 or images.shape[1:] != (64, 64) or latents.shape != (len(images), 6):
        raise CorruptFileError(
            f"{path}: imgs {images.shape} and latents_values {latents.shape}; expected "
            "(n, 64, 64) and (n, 6)"
        )
    return images.astype(np.uint8, copy=False), latents.astype(np.float64, copy=False)

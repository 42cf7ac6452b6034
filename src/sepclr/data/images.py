"""Image files to uint8 arrays: decode (Pillow), centre-crop, resize."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sepclr.errors import CorruptFileError, DataNotFoundError


@dataclass(frozen=True)
class ImageFormat:
    """How an image file becomes an array.

    Parameters
    ----------
    size : int
        The side the image is resized to.
    crop : int, optional
        The side of a centre crop taken first.
    rgb : bool
        3 channels; else 1.
    border : int
        Pixels cut from each side before the crop.
    area : bool
        Resize by area averaging; else bilinear.
    """

    size: int
    crop: int | None = None
    rgb: bool = True
    border: int = 0
    area: bool = False


def read_image(path: str | Path, image_format: ImageFormat) -> np.ndarray:
    """One image as uint8 (C, size, size), read as ``image_format`` says."""
    from PIL import Image, UnidentifiedImageError

    size, crop, rgb = image_format.size, image_format.crop, image_format.rgb
    border, area = image_format.border, image_format.area
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"image {path} does not exist")
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB" if rgb else "L")
            if border:
                width, height = image.size
                image = image.crop((border, border, width - border, height - border))
            if crop is not None:
                width, height = image.size
                if crop > min(width, height):
                    raise CorruptFileError(
                        f"{path} is {width}x{height}, smaller than the {crop} crop"
                    )
                left, top = (width - crop) // 2, (height - crop) // 2
                image = image.crop((left, top, left + crop, top + crop))
            method = Image.Resampling.BOX if area else Image.Resampling.BILINEAR
            image = image.resize((size, size), method)
            array = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise CorruptFileError(f"{path} is not a readable image: {exc}") from exc
    return array.transpose(2, 0, 1) if array.ndim == 3 else array[None]


def read_images(
    paths: list[Path],
    size: int,
    crop: int | None = None,
    rgb: bool = True,
    border: int = 0,
    area: bool = False,
) -> np.ndarray:
    """Images as one uint8 array (n, C, size, size), filled one file at a time (arguments
    as in :class:`ImageFormat`).
    """
    image_format = ImageFormat(size, crop, rgb, border, area)
    out = np.empty((len(paths), 3 if rgb else 1, size, size), dtype=np.uint8)
    for i, path in enumerate(paths):
        out[i] = read_image(path, image_format)
    return out

"""Perceptual hashes: a 64-bit DCT hash of a picture, for near duplicates (exact ones: core.hashing.sha256_file)."""

import numpy as np
from PIL import Image

PHASH_SIZE = 32  # the image is reduced to 32x32 grey before the DCT
PHASH_BITS_SIDE = 8  # the 8x8 lowest frequencies make the 64 bits


def _dct_matrix(size: int) -> np.ndarray:
    k = np.arange(size)[:, None]
    n = np.arange(size)[None, :]
    matrix = np.cos(np.pi * (2 * n + 1) * k / (2 * size)) * np.sqrt(2 / size)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix(PHASH_SIZE)


def phash(image: Image.Image) -> int:
    """The 64-bit perceptual hash (DCT of a 32x32 grey reduction, low 8x8 frequencies against their median).

    Works on any size of the same picture (a reduced decode gives the same bits, give or take one or two),
    which is what lets ingest compute it from a draft-mode JPEG decode.
    """
    grey = image.convert("L").resize((PHASH_SIZE, PHASH_SIZE), Image.Resampling.BOX)
    pixels = np.asarray(grey, dtype=np.float64)
    frequencies = _DCT @ pixels @ _DCT.T
    low = frequencies[:PHASH_BITS_SIDE, :PHASH_BITS_SIDE].flatten()
    # The DC term carries overall brightness, not structure: it is left out of the median.
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def phash_to_signed(value: int) -> int:
    """The unsigned 64-bit hash as the signed integer a BIGINT column stores."""
    return value - (1 << 64) if value >= 1 << 63 else value


def phash_from_signed(value: int) -> int:
    return value + (1 << 64) if value < 0 else value

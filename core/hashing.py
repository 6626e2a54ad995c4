"""File hashing: sha256, streamed."""

import hashlib
from pathlib import Path

CHUNK_BYTES = 1024 * 1024


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so memory stays flat whatever its size."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
